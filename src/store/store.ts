import type { ChangeSignal } from './changes.js'
import type { CountersRepository } from './counters.js'
import type { ItemsRepository } from './items.js'
import type { RefreshTokensRepository } from './refresh-tokens.js'
import type { UsersRepository } from './users.js'
import type { SqliteDatabase } from './sqlite/db.js'

/** The data of one server: its repositories over one database, whichever adapter holds it. */
export interface StoreBase {
  /** Where the data is, for messages: a file path, or a URL without its password. */
  readonly location: string
  readonly users: UsersRepository
  readonly items: ItemsRepository
  readonly refreshTokens: RefreshTokensRepository
  readonly changes: ChangeSignal
  /** GET /ready: throws DatabaseUnavailableError unless the database could take a write now. Writes nothing. */
  checkReady (): Promise<void>
  /**
   * Throws DatabaseUnavailableError when a write now would be lost (SQLite: its file was removed).
   * Synchronous and cheap: it runs before every write request.
   */
  checkWrite (): void
  close (): Promise<void>
}

export interface SqliteStore extends StoreBase {
  readonly kind: 'sqlite'
  /** The connection itself, for tests and the SQLite-only checks. */
  readonly db: SqliteDatabase
}

export interface PostgresStore extends StoreBase {
  readonly kind: 'postgres'
  /** The login throttle's and the rate limit's counts, shared by the instances. */
  readonly counters: CountersRepository
}

export type Store = SqliteStore | PostgresStore

export interface StoreOptions {
  /** SQLite file (DATABASE_PATH), used unless `databaseUrl` is set. */
  databasePath: string
  /** postgres://… (DATABASE_URL): selects PostgreSQL. */
  databaseUrl?: string
  /**
   * Default true. False for a process that answers no requests (the command line): on PostgreSQL,
   * it opens no listening connection, whose changes nothing would read.
   */
  watchChanges?: boolean
}

/** Opens and migrates the configured store. The PostgreSQL driver is loaded only when it is the one. */
export async function openStore ({ databasePath, databaseUrl, watchChanges = true }: StoreOptions): Promise<Store> {
  if (databaseUrl !== undefined) {
    const { openPostgresStore } = await import('./postgres/store.js')
    return await openPostgresStore(databaseUrl, { listen: watchChanges })
  }
  const { openSqliteStore } = await import('./sqlite/store.js')
  return openSqliteStore(databasePath)
}
