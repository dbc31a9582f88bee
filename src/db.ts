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
   CREATE INDEX items_owner ON items(owner, id);`
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
