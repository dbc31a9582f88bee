import { inPolicyOrder, type Role } from '../../policy.js'
import { newTokenGeneration } from '../../tokens.js'
import { REVOKING_CHANGES, UsernameTakenError, type NewUser, type UserChanges, type UserRecord, type UsersRepository } from '../users.js'
import { SCHEMA_LOCK, type PgQuery, type PgSql } from './db.js'

interface UserRow extends Omit<UserRecord, 'created_at'> { created_at: Date }

const toRecord = (row: UserRow): UserRecord => ({ ...row, created_at: row.created_at.toISOString() })

const CHANGEABLE_COLUMNS: ReadonlyArray<keyof UserChanges> = ['email', 'full_name', 'password_hash', 'disabled', 'roles']

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === '23505'

export function createUsersRepository (sql: PgSql): UsersRepository {
  async function find (username: string): Promise<UserRecord | undefined> {
    const [row] = await sql<UserRow[]>`SELECT * FROM users WHERE username = ${username}`
    return row === undefined ? undefined : toRecord(row)
  }

  async function insert (q: PgQuery, user: NewUser, now: Date): Promise<UserRecord> {
    try {
      const [row] = await q<UserRow[]>`INSERT INTO users
        (username, email, full_name, password_hash, disabled, roles, token_generation, created_at)
        VALUES (${user.username}, ${user.email ?? null}, ${user.full_name ?? null}, ${user.password_hash}, ${user.disabled === true},
          ${sql.json(inPolicyOrder(user.roles))}, ${newTokenGeneration()}, ${now}) RETURNING *`
      return toRecord(row as UserRow)
    } catch (err) {
      if (isUniqueViolation(err)) throw new UsernameTakenError(user.username)
      throw err
    }
  }

  async function insertAll (q: PgQuery, users: readonly NewUser[], now: Date): Promise<UserRecord[]> {
    const created: UserRecord[] = []
    for (const user of users) created.push(await insert(q, user, now))
    return created
  }

  const count = async (): Promise<number> => (await sql<[{ total: number }]>`SELECT count(*) AS total FROM users`)[0].total

  const value = (key: keyof UserChanges, changed: UserChanges[keyof UserChanges]) =>
    key === 'roles' ? sql.json(inPolicyOrder(changed as Role[])) : changed ?? null

  return {
    find,
    async list ({ limit, offset }) {
      // As for items: the window counts the rows before LIMIT, one query and one snapshot.
      const rows = await sql<Array<UserRow & { total: number }>>`SELECT *, count(*) OVER () AS total FROM users
        ORDER BY username LIMIT ${limit} OFFSET ${offset}`
      const [first] = rows
      return { users: rows.map(({ total: _total, ...row }) => toRecord(row)), total: first === undefined ? await count() : first.total }
    },
    count,
    create: async (user, now) => await insert(sql, user, now),
    createMany: async (users, now) => await sql.begin(async (tx) => await insertAll(tx, users, now)) as UserRecord[],
    createIfNone: async (users, now) => await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`
      const [row] = await tx<Array<{ any: boolean }>>`SELECT EXISTS (SELECT 1 FROM users) AS any`
      return row?.any === true ? [] : await insertAll(tx, users, now)
    }) as UserRecord[],
    async update (username, changes) {
      const keys = CHANGEABLE_COLUMNS.filter((key) => changes[key] !== undefined)
      if (keys.length === 0) return await find(username)
      const sets = keys.map((key) => sql`${sql(key)} = ${value(key, changes[key])}`)
      // Bumped only when a value really changes (the right-hand side reads the old row): setting the
      // same roles again revokes nothing.
      const revoking = REVOKING_CHANGES.filter((key) => changes[key] !== undefined)
        .map((key) => sql`${sql(key)} IS DISTINCT FROM ${value(key, changes[key])}`)
      if (revoking.length > 0) {
        const any = revoking.reduce((left, right) => sql`${left} OR ${right}`)
        sets.push(sql`token_generation = token_generation + CASE WHEN ${any} THEN 1 ELSE 0 END`)
      }
      const [row] = await sql<UserRow[]>`UPDATE users SET ${sets.reduce((left, right) => sql`${left}, ${right}`)}
        WHERE username = ${username} RETURNING *`
      return row === undefined ? undefined : toRecord(row)
    },
    replaceHash: async (username, previousHash, passwordHash) =>
      (await sql`UPDATE users SET password_hash = ${passwordHash}
        WHERE username = ${username} AND password_hash = ${previousHash}`).count > 0,
    delete: async (username) => (await sql`DELETE FROM users WHERE username = ${username}`).count > 0
  }
}
