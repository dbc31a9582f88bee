import type { SqliteDatabase } from '../db.js'
import type { Role } from '../policy.js'

/** A user as stored. `password_hash` never leaves the server: response schemas omit it. */
export interface UserRecord {
  username: string
  email: string | null
  full_name: string | null
  password_hash: string
  disabled: boolean
  roles: Role[]
  /** Bumped whenever earlier tokens must stop working (password, roles, disabled). */
  token_generation: number
  created_at: string
}

export interface NewUser {
  username: string
  password_hash: string
  roles: Role[]
  email?: string | null
  full_name?: string | null
  disabled?: boolean
}

export type UserChanges = Partial<Pick<UserRecord, 'email' | 'full_name' | 'password_hash' | 'disabled' | 'roles'>>

export interface Page { limit: number, offset: number }

export class UsernameTakenError extends Error {
  constructor (username: string) {
    super(`Username "${username}" is taken`)
    this.name = 'UsernameTakenError'
  }
}

/** Storage of users. Async so that a networked store (PostgreSQL) can implement it too. */
export interface UsersRepository {
  find (username: string): Promise<UserRecord | undefined>
  list (page: Page): Promise<{ users: UserRecord[], total: number }>
  count (): Promise<number>
  /** Throws UsernameTakenError. */
  create (user: NewUser, now: Date): Promise<UserRecord>
  /** All or none, in one transaction (an import). Throws UsernameTakenError for the first name taken. */
  createMany (users: readonly NewUser[], now: Date): Promise<UserRecord[]>
  /** A change of password, roles or disabled bumps token_generation. Undefined when missing. */
  update (username: string, changes: UserChanges): Promise<UserRecord | undefined>
  /**
   * Replaces the hash only, without revoking tokens (a rehash on login), and only while the
   * stored hash is still `previousHash`: a password changed meanwhile is not overwritten.
   */
  replaceHash (username: string, previousHash: string, passwordHash: string): Promise<boolean>
  delete (username: string): Promise<boolean>
}

interface UserRow extends Omit<UserRecord, 'disabled' | 'roles'> { disabled: number, roles: string }

function toRecord (row: UserRow): UserRecord {
  return { ...row, disabled: row.disabled === 1, roles: JSON.parse(row.roles) as Role[] }
}

const CHANGEABLE_COLUMNS: ReadonlyArray<keyof UserChanges> = ['email', 'full_name', 'password_hash', 'disabled', 'roles']
export const REVOKING_CHANGES: ReadonlyArray<keyof UserChanges> = ['password_hash', 'roles', 'disabled']

export function createUsersRepository (db: SqliteDatabase): UsersRepository {
  const findStatement = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?')
  const listStatement = db.prepare<[number, number], UserRow>('SELECT * FROM users ORDER BY username LIMIT ? OFFSET ?')
  const countStatement = db.prepare<[], { total: number }>('SELECT count(*) AS total FROM users')
  const insertStatement = db.prepare(`INSERT INTO users (username, email, full_name, password_hash, disabled, roles, token_generation, created_at)
    VALUES (@username, @email, @full_name, @password_hash, @disabled, @roles, @token_generation, @created_at)`)
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
        roles: JSON.stringify(user.roles),
        token_generation: 0,
        created_at: now.toISOString()
      })
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UsernameTakenError(user.username)
      throw err
    }
  }
  const insertAll = db.transaction((users: readonly NewUser[], now: Date) => { for (const user of users) insert(user, now) })

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
    async update (username, changes) {
      const columns: string[] = []
      const values: Record<string, unknown> = { username }
      for (const key of CHANGEABLE_COLUMNS) {
        const value = changes[key]
        if (value === undefined) continue
        columns.push(`${key} = @${key}`)
        values[key] = key === 'roles' ? JSON.stringify(value) : key === 'disabled' ? (value === true ? 1 : 0) : value
      }
      // Bumped only when a value really changes (the right-hand side reads the old row): setting the
      // same roles again revokes nothing.
      const revoking = REVOKING_CHANGES.filter((key) => changes[key] !== undefined)
      if (revoking.length > 0) columns.push(`token_generation = token_generation + (${revoking.map((key) => `${key} IS NOT @${key}`).join(' OR ')})`)
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
