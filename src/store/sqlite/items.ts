import type { ItemPage, ItemRecord, ItemsRepository } from '../items.js'
import type { ChangeSignal } from '../changes.js'
import type { SqliteDatabase } from './db.js'

/** Rows of cached pages kept at most (about 300 bytes each). */
export const CACHED_ITEM_ROWS = 10_000

type ItemRow = [id: number, name: string, description: string | null, owner: string, created_at: string]

// better-sqlite3 builds a row object key by key; an array and one object literal cost a third less.
const COLUMNS = 'id, name, description, owner, created_at'
const toItem = (row: ItemRow): ItemRecord => ({ id: row[0], name: row[1], description: row[2], owner: row[3], created_at: row[4] })

export interface ItemsRepositoryOptions {
  cachedRows?: number
  /** Drops the cached pages when another writer (the CLI, another process) changed the data. */
  changes: ChangeSignal
}

/** The repository, and `dropCachedPages` for a write it does not see (a user deleted, cascading to its items). */
export function createItemsRepository (
  db: SqliteDatabase,
  { cachedRows = CACHED_ITEM_ROWS, changes }: ItemsRepositoryOptions
): ItemsRepository & { dropCachedPages: () => void } {
  // Separate statements for one owner and for everyone: `@owner IS NULL OR owner = @owner` would keep
  // SQLite from using the items_owner index, and every count would scan the whole table.
  const listOwn = db.prepare<[string, number, number], ItemRow>(
    `SELECT ${COLUMNS} FROM items WHERE owner = ? ORDER BY id LIMIT ? OFFSET ?`
  ).raw(true)
  const listAll = db.prepare<[number, number], ItemRow>(`SELECT ${COLUMNS} FROM items ORDER BY id LIMIT ? OFFSET ?`).raw(true)
  const countOwn = db.prepare<[string], number>('SELECT count(*) FROM items WHERE owner = ?').pluck(true)
  const countAll = db.prepare<[], number>('SELECT count(*) FROM items').pluck(true)
  type Scoped = { owner: string | null }
  const findStatement = db.prepare<[Scoped & { id: number }], ItemRecord>(
    'SELECT * FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')
  const insertStatement = db.prepare<[string, string | null, string, string], ItemRecord>(
    'INSERT INTO items (name, description, owner, created_at) VALUES (?, ?, ?, ?) RETURNING *')
  const deleteStatement = db.prepare<[Scoped & { id: number }]>(
    'DELETE FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')
  const pages = createPageCache(cachedRows)
  changes.subscribe(() => { pages.clear() })

  return {
    async list (owner, { limit, offset }) {
      const key = owner === undefined ? `all ${limit} ${offset}` : `own ${limit} ${offset} ${owner}`
      return pages.get(key) ?? pages.set(key, owner === undefined
        ? { items: listAll.all(limit, offset).map(toItem), total: countAll.get() as number }
        : { items: listOwn.all(owner, limit, offset).map(toItem), total: countOwn.get(owner) as number })
    },
    find: async (id, owner) => findStatement.get({ id, owner: owner ?? null }),
    async create (item, now) {
      const created = insertStatement.get(item.name, item.description ?? null, item.owner, now.toISOString()) as ItemRecord
      pages.clear()
      return created
    },
    async delete (id, owner) {
      const deleted = deleteStatement.run({ id, owner: owner ?? null }).changes > 0
      if (deleted) pages.clear()
      return deleted
    },
    dropCachedPages: () => { pages.clear() }
  }
}

/**
 * Pages read since the items last changed. Listing is the hot read and most lists repeat between
 * writes, so a page is read once per change instead of once per request. It reads nothing to
 * stay current: this repository's writes drop every page, and so does the store's change signal
 * (polled before every request, plugins/db.ts) for the writes of other connections. A check
 * of its own here cost two statements per list (total_changes() and data_version, 0.2 and 2.5 µs).
 */
function createPageCache (maxRows: number): {
  get: (key: string) => ItemPage | undefined
  set: (key: string, page: ItemPage) => ItemPage
  clear: () => void
} {
  const pages = new Map<string, ItemPage>()
  let rows = 0
  return {
    get: (key) => pages.get(key),
    set (key, page) {
      for (const item of page.items) Object.freeze(item)
      const frozen = Object.freeze({ items: Object.freeze(page.items) as ItemRecord[], total: page.total })
      pages.set(key, frozen)
      rows += page.items.length + 1
      // Oldest first: a Map iterates in insertion order.
      for (const [oldest, evicted] of pages) {
        if (rows <= maxRows) break
        pages.delete(oldest)
        rows -= evicted.items.length + 1
      }
      return frozen
    },
    clear () {
      pages.clear()
      rows = 0
    }
  }
}
