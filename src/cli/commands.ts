import { readFile } from 'node:fs/promises'
import { Type } from '@sinclair/typebox'
import type { PasswordHasher } from '../passwords.js'
import { ALL_ROLES, isRole, type Role } from '../policy.js'
import { CreateUserSchema, NewPasswordSchema, RolesSchema } from '../schemas/users.js'
import type { NewUser, UsersRepository } from '../store/users.js'
import { parseFastApiUsers, type ImportError } from '../user-import.js'
import { createValidator } from '../validation.js'
import { CliError, type CliIo } from './io.js'
import type { Command } from './parse.js'
import { readNewPassword } from './prompt.js'
import { userTable } from './table.js'

/** `admin,client` → roles; an unknown name is an error, as in the API. */
function parseRoles (text: string): Role[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean)
  const unknown = names.find((name) => !isRole(name))
  if (unknown !== undefined) throw new CliError(`role "${unknown}" does not exist (roles: ${ALL_ROLES.join(', ')})`)
  return names as Role[]
}

function check (result: { problems?: readonly string[] }): void {
  if (result.problems !== undefined) throw new CliError(result.problems.join('; '))
}

// The API's rules for POST /users and PATCH /users/:username.
const ProfileSchema = Type.Omit(CreateUserSchema, ['password'])
const SetRolesSchema = Type.Object({ roles: RolesSchema })
const SetPasswordSchema = Type.Object({ password: NewPasswordSchema })

/** What a command works with: the terminal, the database (named in messages as `databasePath`), the password hasher and the clock. */
export interface Context { io: CliIo, databasePath: string, users: UsersRepository, passwords: PasswordHasher, now: () => number }

function notFound (username: string): CliError {
  return new CliError(`user "${username}" does not exist`)
}

/** Runs one `user` command; a failure to report is thrown as CliError (exit code 1). */
export async function run (
  command: Exclude<Command, { name: 'help' }>, { io, databasePath, users, passwords, now }: Context
): Promise<void> {
  switch (command.name) {
    case 'add': {
      const profile = {
        username: command.username,
        roles: parseRoles(command.roles),
        disabled: command.disabled,
        ...command.email === undefined ? {} : { email: command.email },
        ...command.fullName === undefined ? {} : { full_name: command.fullName }
      }
      check(createValidator(ProfileSchema)(profile))
      if (await users.find(profile.username) !== undefined) throw new CliError(`user "${profile.username}" already exists`)
      const password = await readNewPassword(io)
      check(createValidator(CreateUserSchema)({ ...profile, password }))
      // Taken meanwhile: UsernameTakenError's message says so.
      const created = await users.create({ ...profile, password_hash: await passwords.hash(password) }, new Date(now()))
      io.stdout.write(`Created user ${created.username} (roles: ${created.roles.join(', ') || 'none'}).\n`)
      return
    }
    case 'list': {
      const { users: all } = await users.list({ limit: await users.count(), offset: 0 })
      io.stdout.write(all.length === 0 ? `No users in ${databasePath}.\n` : userTable(all))
      return
    }
    case 'disable':
    case 'enable': {
      const disabled = command.name === 'disable'
      if (await users.update(command.username, { disabled }) === undefined) throw notFound(command.username)
      io.stdout.write(`User ${command.username} is ${disabled ? 'disabled: its tokens stop working' : 'enabled'}.\n`)
      return
    }
    case 'set-roles': {
      const roles = parseRoles(command.roles)
      check(createValidator(SetRolesSchema)({ roles }))
      const before = await users.find(command.username)
      if (before === undefined) throw notFound(command.username)
      const updated = await users.update(command.username, { roles })
      if (updated === undefined) throw notFound(command.username)
      const listed = updated.roles.join(', ') || 'none'
      // The same roles (in any order) bump no token generation: nothing is revoked.
      io.stdout.write(updated.token_generation === before.token_generation
        ? `User ${command.username} already has roles: ${listed}; nothing changed.\n`
        : `User ${command.username} now has roles: ${listed}; its earlier tokens stop working.\n`)
      return
    }
    case 'set-password': {
      if (await users.find(command.username) === undefined) throw notFound(command.username)
      const password = await readNewPassword(io)
      check(createValidator(SetPasswordSchema)({ password }))
      const passwordHash = await passwords.hash(password)
      if (await users.update(command.username, { password_hash: passwordHash }) === undefined) throw notFound(command.username)
      io.stdout.write(`User ${command.username} has a new password; its earlier tokens stop working.\n`)
      return
    }
    case 'delete':
      if (!await users.delete(command.username)) throw notFound(command.username)
      io.stdout.write(`Deleted user ${command.username} and their items.\n`)
      return
    case 'import': {
      let text: string
      try {
        text = await readFile(command.file, 'utf8')
      } catch (err) {
        throw new CliError(`cannot read the file: ${(err as Error).message}`)
      }
      let list: NewUser[]
      try {
        list = parseFastApiUsers(text)
      } catch (err) {
        throw new CliError(`${command.file}: nothing was imported:\n  ${(err as ImportError).problems.join('\n  ')}`)
      }
      // One transaction: whatever fails (a username taken), nothing stays.
      const created = await users.createMany(list, new Date(now())).catch((err: Error) => {
        throw new CliError(`${command.file}: nothing was imported: ${err.message}`)
      })
      io.stdout.write(`Imported ${created.length} users: ${created.map((user) => user.username).join(', ')}.\n` +
        'They log in with their existing passwords; each hash is replaced by argon2id at the first login.\n')
    }
  }
}
