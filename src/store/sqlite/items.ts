import type { SqliteDatabase } from '../db.js'
import type { Page } from './users.js'

export interface ItemRecord {
  id: number
  name: string
  description: string | null
  owner: string
  created_at: string
}

export interface NewItem { name: string, description?: string | null, owner: string }

/** Frozen: one page may answer many requests. */
export interface ItemPage { items: ItemRecord[], total: number }

/** `owner` undefined means every owner's items (an admin's view). */
export interface ItemsRepository {
  list (owner: string | undefined, page: Page): Promise<ItemPage>
  find (id: number, owner: string | undefined): Promise<ItemRecord | undefined>
  create (item: NewItem, now: Date): Promise<ItemRecord>
  delete (id: number, owner: string | undefined): Promise<boolean>
}

/** Rows of cached pages kept at most (about 300 bytes each). */
export const CACHED_ITEM_ROWS = 10_000

type ItemRow = [id: number, name: string, description: string | null, owner: string, created_at: string]

// better-sqlite3 builds a row object key by key; an array and one object literal cost a third less.
const COLUMNS = 'id, name, description, owner, created_at'
const toItem = (row: ItemRow): ItemRecord => ({ id: row[0], name: row[1], description: row[2], owner: row[3], created_at: row[4] })

export function createItemsRepository (db: SqliteDatabase, { cachedRows = CACHED_ITEM_ROWS } = {}): ItemsRepository {
  // Separate statements for one owner and for everyone: `@owner IS NULL OR owner = @owner` would keep
  // SQLite from using the items_owner index, and every count would scan the whole table.
  const listOwn = db.prepare<[string, number, number], ItemRow>(`SELECT ${COLUMNS} FROM items WHERE owner = ? ORDER BY id LIMIT ? OFFSET ?`).raw(true)
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
  const pages = createPageCache(db, cachedRows)

  return {
    async list (owner, { limit, offset }) {
      const key = owner === undefined ? `all ${limit} ${offset}` : `own ${limit} ${offset} ${owner}`
      return pages.get(key) ?? pages.set(key, owner === undefined
        ? { items: listAll.all(limit, offset).map(toItem), total: countAll.get() as number }
        : { items: listOwn.all(owner, limit, offset).map(toItem), total: countOwn.get(owner) as number })
    },
    find: async (id, owner) => findStatement.get({ id, owner: owner ?? null }),
    create: async (item, now) => insertStatement.get(item.name, item.description ?? null, item.owner, now.toISOString()) as ItemRecord,
    delete: async (id, owner) => deleteStatement.run({ id, owner: owner ?? null }).changes > 0
  }
}

/**
 * Pages read since the database last changed. Listing is the hot read and most lists repeat
 * between writes, so a page is read once per change instead of once per request. Every get
 * asks SQLite whether anything changed: `data_version` moves when another connection commits
 * (the CLI, another process), total_changes() when this connection writes anything. Either
 * drops every page, so a list never misses a write it could have seen.
 */
function createPageCache (db: SqliteDatabase, maxRows: number): { get: (key: string) => ItemPage | undefined, set: (key: string, page: ItemPage) => ItemPage } {
  // Two statements, not one: selecting both in one costs about 4.5 µs, these about 0.2 and 2.5.
  const totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck(true)
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck(true)
  const pages = new Map<string, ItemPage>()
  let seenChanges: number | undefined
  let seenDataVersion: number | undefined
  let rows = 0
  return {
    get (key) {
      const changes = totalChanges.get()
      const version = dataVersion.get()
      if (changes !== seenChanges || version !== seenDataVersion) {
        pages.clear()
        rows = 0
        seenChanges = changes
        seenDataVersion = version
        return undefined
      }
      return pages.get(key)
    },
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
    }
  }
}
