import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

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
  const current = db.pragma('user_version', { simple: true }) as number
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
}

/** Opens (creating its folder) and migrates the embedded database. */
export function openDatabase (path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)
  return db
}
