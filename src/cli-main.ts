import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Type } from '@sinclair/typebox'
import { loadConfig } from './config.js'
import { revokingLogins } from './logins.js'
import { createPasswordHasher, type HashCost, type PasswordHasher } from './passwords.js'
import { ALL_ROLES, isRole, type Role } from './policy.js'
import { openStore } from './store/store.js'
import type { NewUser, UserRecord, UsersRepository } from './store/users.js'
import { CreateUserSchema, RolesSchema } from './schemas/users.js'
import { parseFastApiUsers, type ImportError } from './user-import.js'
import { createValidator } from './validation.js'

export const USAGE = `Usage: secure-api user COMMAND

Commands:
  user add USERNAME --roles ROLE[,ROLE] [--email EMAIL] [--full-name NAME] [--disabled]
      Creates a user. The password is asked twice on the terminal, without echo, or read
      from the first line of standard input; never from the command line.
  user list
  user disable USERNAME       Its tokens stop working, at once also on a running server.
  user enable USERNAME
  user set-roles USERNAME ROLE[,ROLE]
  user delete USERNAME        Deletes the user and their items.
  user import FILE            Imports FastAPI users: a JSON object mapping each username to
      {username, full_name, email, hashed_password, disabled, role}. bcrypt hashes keep
      working; each is replaced by argon2id at the user's first login. All or nothing.
      Hashes too costly to verify at each login are refused: bcrypt cost above 14,
      argon2 above 256 MiB of memory, t above 10 or p above 8.

Roles: ${ALL_ROLES.join(', ')}. The database is DATABASE_URL (PostgreSQL) when set, else DATABASE_PATH (default ./data/app.db).
Exit codes: 0 done, 1 error, 2 wrong usage.
`

/** What the CLI reads its password from: process.stdin, or a stream in tests. */
export interface CliInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?: (mode: boolean) => unknown
}

export interface CliOutput { write: (text: string) => unknown }

export interface CliIo {
  env: Record<string, string | undefined>
  stdin: CliInput
  stdout: CliOutput
  stderr: CliOutput
  /** 'test' makes argon2 cheap; never use it for real passwords. */
  hashCost?: HashCost
  now?: () => number
}

/** Wrong usage: exit code 2, with the usage text. */
class UsageError extends Error {}
/** A failure to report in one line: exit code 1. */
class CliError extends Error {}

type Command =
  | { name: 'help' }
  | { name: 'add', username: string, roles: string, email?: string, fullName?: string, disabled: boolean }
  | { name: 'list' }
  | { name: 'disable' | 'enable' | 'delete', username: string }
  | { name: 'set-roles', username: string, roles: string }
  | { name: 'import', file: string }

const OPTIONS = {
  roles: { type: 'string' },
  email: { type: 'string' },
  'full-name': { type: 'string' },
  disabled: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

function parseCommand (argv: readonly string[]): Command {
  if (argv.some((arg) => /^--?password(=|$)/.test(arg))) {
    throw new UsageError('Passwords are never taken from the command line: `user add` asks for it on the terminal or reads standard input')
  }
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true || (positionals.length === 1 && positionals[0] === 'help')) return { name: 'help' }
  if (positionals[0] !== 'user') throw new UsageError(positionals.length === 0 ? 'Missing command' : `Unknown command "${positionals[0]}"`)
  const [, action, ...rest] = positionals

  const expect = (names: readonly string[], options: readonly string[] = []): string[] => {
    const extra = Object.keys(values).find((option) => !options.includes(option))
    if (extra !== undefined) throw new UsageError(`user ${action} does not take --${extra}`)
    if (rest.length !== names.length) throw new UsageError(`Usage: secure-api user ${[action, ...names].join(' ')}`)
    return rest
  }

  switch (action) {
    case 'add': {
      const [username] = expect(['USERNAME'], ['roles', 'email', 'full-name', 'disabled']) as [string]
      if (values.roles === undefined) throw new UsageError('user add needs --roles')
      return { name: 'add', username, roles: values.roles, email: values.email, fullName: values['full-name'], disabled: values.disabled === true }
    }
    case 'list':
      expect([])
      return { name: 'list' }
    case 'disable':
    case 'enable':
    case 'delete': {
      const [username] = expect(['USERNAME']) as [string]
      return { name: action, username }
    }
    case 'set-roles': {
      const [username, roles] = expect(['USERNAME', 'ROLES']) as [string, string]
      return { name: 'set-roles', username, roles }
    }
    case 'import': {
      const [file] = expect(['FILE']) as [string]
      return { name: 'import', file }
    }
    default:
      throw new UsageError(action === undefined ? 'Missing user command' : `Unknown user command "${action}"`)
  }
}

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

// Far longer than any password the API accepts (1024 characters): stop reading there.
const MAX_STDIN_LENGTH = 8192

/** The first line of a piped standard input. */
async function readFirstLine (stdin: CliInput): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += String(chunk)
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end).replace(/\r$/, '')
    if (text.length > MAX_STDIN_LENGTH) break
  }
  return text
}

/** Lines typed on a terminal in raw mode: nothing is echoed; backspace, Ctrl-C and Ctrl-D work. */
function hiddenLines (stdin: CliInput): { next: () => Promise<string>, close: () => void } {
  const lines: string[] = []
  let current = ''
  let afterReturn = false
  let stopped: string | undefined
  let wake: (() => void) | undefined

  const onData = (chunk: string | Buffer): void => {
    for (const char of String(chunk)) {
      const lineFeedOfCrLf = afterReturn && char === '\n'
      afterReturn = char === '\r'
      if (lineFeedOfCrLf) continue
      if (char === '\r' || char === '\n') {
        lines.push(current)
        current = ''
      } else if (char === '\u0003' || char === '\u0004') {
        // Cancelling drops what was typed before, even whole lines.
        stopped ??= 'Cancelled'
        lines.length = 0
      } else if (char === '\u007f' || char === '\b') {
        current = Array.from(current).slice(0, -1).join('')
      } else if (char >= ' ') {
        current += char
      }
    }
    wake?.()
  }
  const onEnd = (): void => {
    stopped ??= 'No password entered'
    wake?.()
  }

  stdin.setEncoding('utf8')
  stdin.setRawMode?.(true)
  stdin.on('data', onData)
  stdin.on('end', onEnd)
  stdin.resume()
  return {
    async next () {
      for (;;) {
        const line = lines.shift()
        if (line !== undefined) return line
        if (stopped !== undefined) throw new CliError(stopped)
        await new Promise<void>((resolve) => { wake = resolve })
      }
    },
    close () {
      stdin.off('data', onData)
      stdin.off('end', onEnd)
      stdin.setRawMode?.(false)
      stdin.pause()
    }
  }
}

/** A new password: asked twice on a terminal, without echo; else the first line of standard input. */
async function readNewPassword (io: CliIo): Promise<string> {
  if (io.stdin.isTTY !== true) {
    const password = await readFirstLine(io.stdin)
    if (password === '') throw new CliError('No password on standard input')
    return password
  }
  const lines = hiddenLines(io.stdin)
  try {
    io.stderr.write('Password: ')
    const password = await lines.next()
    io.stderr.write('\nRepeat password: ')
    const repeated = await lines.next()
    io.stderr.write('\n')
    if (password !== repeated) throw new CliError('The passwords do not match')
    return password
  } finally {
    lines.close()
  }
}

// Names come from the API too: strip terminal control characters before printing them.
function printable (value: string | null): string {
  return value === null ? '-' : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd')
}

function table (users: readonly UserRecord[]): string {
  const rows = [['USERNAME', 'ROLES', 'DISABLED', 'EMAIL', 'FULL NAME'], ...users.map((user) => [
    user.username, user.roles.join(',') || '-', user.disabled ? 'yes' : 'no', printable(user.email), printable(user.full_name)
  ])]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n'
}

interface Context { io: CliIo, databasePath: string, users: UsersRepository, passwords: PasswordHasher, now: () => number }

function notFound (username: string): CliError {
  return new CliError(`user "${username}" does not exist`)
}

async function run (command: Exclude<Command, { name: 'help' }>, { io, databasePath, users, passwords, now }: Context): Promise<void> {
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
      await users.create({ ...profile, password_hash: await passwords.hash(password) }, new Date(now()))
      io.stdout.write(`Created user ${profile.username} (roles: ${profile.roles.join(', ') || 'none'}).\n`)
      return
    }
    case 'list': {
      const { users: all } = await users.list({ limit: await users.count(), offset: 0 })
      io.stdout.write(all.length === 0 ? `No users in ${databasePath}.\n` : table(all))
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
      if (await users.update(command.username, { roles }) === undefined) throw notFound(command.username)
      io.stdout.write(`User ${command.username} now has roles: ${roles.join(', ') || 'none'}; its earlier tokens stop working.\n`)
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

/** The `secure-api` command line. Returns the exit code: 0 done, 1 error, 2 wrong usage. */
export async function main (argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command
  try {
    command = parseCommand(argv)
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (command.name === 'help') {
    io.stdout.write(USAGE)
    return 0
  }
  try {
    // The server's own configuration, so the CLI works on the server's database.
    const { databasePath, databaseUrl } = loadConfig(io.env)
    const store = await openStore({ databasePath, databaseUrl })
    try {
      const now = io.now ?? Date.now
      // As in the server (src/logins.ts): deleting a user, or a change that revokes its tokens, also
      // revokes its logins in the database, refresh tokens included (API.md "Authentication and authorization").
      const users = revokingLogins(store.users, { revokeUser: async (username) => { await store.refreshTokens.revokeUser(username, now()) } })
      await run(command, { io, databasePath: store.location, users, passwords: createPasswordHasher({ cost: io.hashCost ?? 'owasp' }), now })
    } finally {
      await store.close()
    }
    return 0
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`)
    return 1
  }
}
