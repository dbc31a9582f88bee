import { mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { DatabaseUnavailableError } from '../errors.js'

export type SqliteDatabase = Database.Database

// Append only: each entry moves the schema from user_version N to N+1.
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     username TEXT PRIMARY KEY,
     email TEXT,
     full_name TEXT,
     password_hash TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     roles TEXT NOT NULL DEFAULT '[]',
     token_generation INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE items (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     description TEXT,
     owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX items_owner ON items(owner, id);`,
  // A family is one login (its id is the loginId in access tokens' jti). No foreign key to users:
  // a deleted user's revoked families are kept for a while, so its access tokens stay refused.
  // Times are milliseconds since the epoch.
  `CREATE TABLE refresh_families (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     scope TEXT NOT NULL,
     generation INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER
   ) STRICT;
   CREATE INDEX refresh_families_username ON refresh_families(username);
   CREATE INDEX refresh_families_expires_at ON refresh_families(expires_at);
   CREATE INDEX refresh_families_revoked_at ON refresh_families(revoked_at) WHERE revoked_at IS NOT NULL;
   CREATE TABLE refresh_tokens (
     token_hash TEXT PRIMARY KEY,
     family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   ) STRICT;
   CREATE INDEX refresh_tokens_family_id ON refresh_tokens(family_id);
   CREATE INDEX refresh_tokens_expires_at ON refresh_tokens(expires_at);`
]

export function migrate (db: SqliteDatabase): void {
  // IMMEDIATE takes the write lock before the version is read, so two processes opening a new file
  // at once (two CLI commands, the CLI and the server) apply each step once.
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version >= MIGRATIONS.length) return false
    db.exec(MIGRATIONS[version] as string)
    db.pragma(`user_version = ${version + 1}`)
    return true
  })
  for (let more = true; more;) more = step.immediate()
}

/** Opens (creating its folder) and migrates the embedded database. */
export function openDatabase (path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  // The driver is synchronous: a wait for another process's lock stalls every request, so keep it short.
  db.pragma('busy_timeout = 250')
  migrate(db)
  return db
}

function fileIdentity (path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}`
}

export interface DatabaseCheck {
  /** Throws DatabaseUnavailableError unless the file is still the one opened (its writes would be lost otherwise). */
  assertFile (): void
  /** Throws unless the database could take a write now: its file in place, no other lock, not read-only. Writes nothing. */
  assertWritable (): void
}

export function createDatabaseCheck (db: SqliteDatabase, path: string): DatabaseCheck {
  const opened = path === ':memory:' ? undefined : fileIdentity(path)
  function assertFile (): void {
    // SQLite keeps using a removed file's inode in WAL mode, and every write since would vanish at restart.
    if (opened !== undefined && fileIdentity(path) !== opened) {
      throw new DatabaseUnavailableError('the database file was removed or replaced')
    }
  }
  return {
    assertFile,
    assertWritable () {
      assertFile()
      try {
        db.exec('BEGIN IMMEDIATE')
        // Rewriting the header in a transaction that is rolled back meets every read-only check and writes nothing.
        db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`)
      } catch (err) {
        throw new DatabaseUnavailableError((err as Error).message)
      } finally {
        if (db.open && db.inTransaction) db.exec('ROLLBACK')
      }
    }
  }
}
