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

/** `owner` undefined means every owner's items (an admin's view). */
export interface ItemsRepository {
  list (owner: string | undefined, page: Page): Promise<{ items: ItemRecord[], total: number }>
  find (id: number, owner: string | undefined): Promise<ItemRecord | undefined>
  create (item: NewItem, now: Date): Promise<ItemRecord>
  delete (id: number, owner: string | undefined): Promise<boolean>
}

export function createItemsRepository (db: SqliteDatabase): ItemsRepository {
  // Separate statements for one owner and for everyone: `@owner IS NULL OR owner = @owner` would keep
  // SQLite from using the items_owner index, and every count would scan the whole table.
  const listOwn = db.prepare<[string, number, number], ItemRecord>('SELECT * FROM items WHERE owner = ? ORDER BY id LIMIT ? OFFSET ?')
  const listAll = db.prepare<[number, number], ItemRecord>('SELECT * FROM items ORDER BY id LIMIT ? OFFSET ?')
  const countOwn = db.prepare<[string], { total: number }>('SELECT count(*) AS total FROM items WHERE owner = ?')
  const countAll = db.prepare<[], { total: number }>('SELECT count(*) AS total FROM items')
  type Scoped = { owner: string | null }
  const findStatement = db.prepare<[Scoped & { id: number }], ItemRecord>(
    'SELECT * FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')
  const insertStatement = db.prepare<[string, string | null, string, string], ItemRecord>(
    'INSERT INTO items (name, description, owner, created_at) VALUES (?, ?, ?, ?) RETURNING *')
  const deleteStatement = db.prepare<[Scoped & { id: number }]>(
    'DELETE FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')

  return {
    async list (owner, { limit, offset }) {
      return owner === undefined
        ? { items: listAll.all(limit, offset), total: countAll.get()?.total ?? 0 }
        : { items: listOwn.all(owner, limit, offset), total: countOwn.get(owner)?.total ?? 0 }
    },
    find: async (id, owner) => findStatement.get({ id, owner: owner ?? null }),
    create: async (item, now) => insertStatement.get(item.name, item.description ?? null, item.owner, now.toISOString()) as ItemRecord,
    delete: async (id, owner) => deleteStatement.run({ id, owner: owner ?? null }).changes > 0
  }
}
