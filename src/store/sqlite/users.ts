import { inPolicyOrder, type Role } from '../../policy.js'
import { newTokenGeneration } from '../../tokens.js'
import { REVOKING_CHANGES, UsernameTakenError, type NewUser, type UserChanges, type UserRecord, type UsersRepository } from '../users.js'
import type { SqliteDatabase } from './db.js'

interface UserRow extends Omit<UserRecord, 'disabled' | 'roles'> { disabled: number, roles: string }

function toRecord (row: UserRow): UserRecord {
  return { ...row, disabled: row.disabled === 1, roles: JSON.parse(row.roles) as Role[] }
}

const CHANGEABLE_COLUMNS: ReadonlyArray<keyof UserChanges> = ['email', 'full_name', 'password_hash', 'disabled', 'roles']

export function createUsersRepository (db: SqliteDatabase): UsersRepository {
  const findStatement = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?')
  const listStatement = db.prepare<[number, number], UserRow>('SELECT * FROM users ORDER BY username LIMIT ? OFFSET ?')
  const countStatement = db.prepare<[], { total: number }>('SELECT count(*) AS total FROM users')
  const insertStatement = db.prepare(
    `INSERT INTO users (username, email, full_name, password_hash, disabled, roles, token_generation, created_at)
    VALUES (@username, @email, @full_name, @password_hash, @disabled, @roles, @token_generation, @created_at)`
  )
  const replaceHashStatement = db.prepare('UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?')
  const deleteStatement = db.prepare('DELETE FROM users WHERE username = ?')

  const find = (username: string): UserRecord | undefined => {
    const row = findStatement.get(username)
    return row === undefined ? undefined : toRecord(row)
  }

  const insert = (user: NewUser, now: Date): void => {
    try {
      insertStatement.run({
        username: user.username,
        email: user.email ?? null,
        full_name: user.full_name ?? null,
        password_hash: user.password_hash,
        disabled: user.disabled === true ? 1 : 0,
        roles: JSON.stringify(inPolicyOrder(user.roles)),
        token_generation: newTokenGeneration(),
        created_at: now.toISOString()
      })
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UsernameTakenError(user.username)
      throw err
    }
  }
  const insertAll = db.transaction((users: readonly NewUser[], now: Date) => { for (const user of users) insert(user, now) })
  const insertIfNone = db.transaction((users: readonly NewUser[], now: Date): boolean => {
    if ((countStatement.get() as { total: number }).total > 0) return false
    insertAll(users, now)
    return true
  })

  return {
    find: async (username) => find(username),
    async list ({ limit, offset }) {
      return { users: listStatement.all(limit, offset).map(toRecord), total: countStatement.get()?.total ?? 0 }
    },
    count: async () => countStatement.get()?.total ?? 0,
    async create (user, now) {
      insert(user, now)
      return find(user.username) as UserRecord
    },
    async createMany (users, now) {
      insertAll(users, now)
      return users.map((user) => find(user.username) as UserRecord)
    },
    // IMMEDIATE: the write lock before the count, so another process cannot seed in between.
    createIfNone: async (users, now) => insertIfNone.immediate(users, now) ? users.map((user) => find(user.username) as UserRecord) : [],
    async update (username, changes) {
      const columns: string[] = []
      const values: Record<string, unknown> = { username }
      for (const key of CHANGEABLE_COLUMNS) {
        const value = changes[key]
        if (value === undefined) continue
        columns.push(`${key} = @${key}`)
        values[key] = key === 'roles'
          ? JSON.stringify(inPolicyOrder(value as Role[]))
          : key === 'disabled' ? (value === true ? 1 : 0) : value
      }
      // Bumped only when a value really changes (the right-hand side reads the old row): setting the
      // same roles again revokes nothing.
      const revoking = REVOKING_CHANGES.filter((key) => changes[key] !== undefined)
      if (revoking.length > 0) {
        const any = revoking.map((key) => `${key} IS NOT @${key}`).join(' OR ')
        columns.push(`token_generation = token_generation + (${any})`)
      }
      if (columns.length > 0) {
        // Column names come from CHANGEABLE_COLUMNS, never from input.
        const result = db.prepare(`UPDATE users SET ${columns.join(', ')} WHERE username = @username`).run(values)
        if (result.changes === 0) return undefined
      }
      return find(username)
    },
    replaceHash: async (username, previousHash, passwordHash) => replaceHashStatement.run(passwordHash, username, previousHash).changes > 0,
    delete: async (username) => deleteStatement.run(username).changes > 0
  }
}
