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
  // `@owner IS NULL OR owner = @owner` lets one statement serve both an owner's view and an admin's.
  type Scoped = { owner: string | null }
  const listStatement = db.prepare<[Scoped & { limit: number, offset: number }], ItemRecord>(
    'SELECT * FROM items WHERE (@owner IS NULL OR owner = @owner) ORDER BY id LIMIT @limit OFFSET @offset')
  const countStatement = db.prepare<[Scoped], { total: number }>(
    'SELECT count(*) AS total FROM items WHERE (@owner IS NULL OR owner = @owner)')
  const findStatement = db.prepare<[Scoped & { id: number }], ItemRecord>(
    'SELECT * FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')
  const insertStatement = db.prepare<[string, string | null, string, string], ItemRecord>(
    'INSERT INTO items (name, description, owner, created_at) VALUES (?, ?, ?, ?) RETURNING *')
  const deleteStatement = db.prepare<[Scoped & { id: number }]>(
    'DELETE FROM items WHERE id = @id AND (@owner IS NULL OR owner = @owner)')

  return {
    async list (owner, { limit, offset }) {
      return {
        items: listStatement.all({ owner: owner ?? null, limit, offset }),
        total: countStatement.get({ owner: owner ?? null })?.total ?? 0
      }
    },
    find: async (id, owner) => findStatement.get({ id, owner: owner ?? null }),
    create: async (item, now) => insertStatement.get(item.name, item.description ?? null, item.owner, now.toISOString()) as ItemRecord,
    delete: async (id, owner) => deleteStatement.run({ id, owner: owner ?? null }).changes > 0
  }
}
