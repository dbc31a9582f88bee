import { closeSync, openSync, readSync, realpathSync } from 'node:fs'
import { createChangeSignal, type ChangeSignal } from '../changes.js'
import type { SqliteStore } from '../store.js'
import { createDatabaseCheck, openDatabase, type SqliteDatabase } from './db.js'
import { createItemsRepository } from './items.js'
import { createRefreshTokensRepository } from './refresh-tokens.js'
import { createUsersRepository } from './users.js'

/** What the WAL index header says of commits: whether any connection committed since the last look. */
export interface WalIndexHeader {
  /** True after a commit by any connection, this one included, and whenever the header cannot be read. */
  moved (): boolean
  close (): void
}

const WAL_INDEX_HEADER_BYTES = 48

/**
 * The header at the start of the WAL index (the `-shm` file beside a database in WAL mode), which
 * every commit rewrites, whichever connection makes it, before the commit returns
 * (https://www.sqlite.org/walformat.html, "The WAL-Index Header"). Reading it is one `pread` and
 * takes no lock. Undefined when the file cannot be opened.
 */
export function openWalIndexHeader (shmPath: string): WalIndexHeader | undefined {
  let fd: number | undefined
  try {
    fd = openSync(shmPath, 'r')
  } catch {
    return undefined
  }
  const seen = Buffer.alloc(WAL_INDEX_HEADER_BYTES)
  const current = Buffer.alloc(WAL_INDEX_HEADER_BYTES)
  const read = (): boolean => {
    try {
      return fd !== undefined && readSync(fd, current, 0, WAL_INDEX_HEADER_BYTES, 0) === WAL_INDEX_HEADER_BYTES
    } catch {
      return false
    }
  }
  if (read()) current.copy(seen)
  return {
    moved () {
      if (read() && current.equals(seen)) return false
      current.copy(seen)
      return true
    },
    close () {
      if (fd !== undefined) closeSync(fd)
      fd = undefined
    }
  }
}

/**
 * `PRAGMA data_version` moves when another connection commits (the CLI, another process on the
 * file) and never for this connection's own writes: exact, but the statement takes and releases a
 * lock on the WAL index, two `fcntl` calls that cost the server 10–20 µs a request. So it runs
 * only when the WAL index header (`walIndex`, read first) shows a commit by some connection.
 */
export function createDataVersionSignal (db: SqliteDatabase, walIndex?: WalIndexHeader): ChangeSignal {
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck(true)
  const read = (): number | undefined => {
    try {
      return dataVersion.get()
    } catch {
      // Closed or failing: nothing proves the data unchanged. The next read reports the fault itself.
      return undefined
    }
  }
  let seen = read()
  return createChangeSignal((emit) => {
    if (walIndex !== undefined && db.open && !walIndex.moved()) return
    const version = read()
    if (version !== undefined && version === seen) return
    seen = version
    // The listeners of a poll are synchronous (only a feed's resync waits for any).
    emit({})
  })
}

/** The SQLite store at `path` (`:memory:` allowed): one connection, migrated on open. */
export function openSqliteStore (path: string): SqliteStore {
  const db = openDatabase(path)
  const check = createDatabaseCheck(db, path)
  // Read before data_version's first value, so that no commit in between goes unseen. SQLite names
  // the file after the database's path with symbolic links resolved.
  const walIndex = db.pragma('journal_mode', { simple: true }) === 'wal' ? openWalIndexHeader(`${realpathSync(path)}-shm`) : undefined
  const changes = createDataVersionSignal(db, walIndex)
  const items = createItemsRepository(db, { changes })
  const users = createUsersRepository(db)
  return {
    kind: 'sqlite',
    location: path,
    db,
    users: {
      ...users,
      async delete (username) {
        const deleted = await users.delete(username)
        // ON DELETE CASCADE removed the user's items, behind the item repository's back.
        if (deleted) items.dropCachedPages()
        return deleted
      }
    },
    items,
    refreshTokens: createRefreshTokensRepository(db),
    changes,
    checkReady: async () => { check.assertWritable() },
    checkWrite: () => { check.assertFile() },
    close: async () => {
      walIndex?.close()
      db.close()
    }
  }
}
