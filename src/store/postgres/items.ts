import type { ItemRecord, ItemsRepository } from '../items.js'
import type { PgSql } from './db.js'

interface ItemRow extends Omit<ItemRecord, 'created_at'> { created_at: Date }
interface ListedRow extends ItemRow { total: number }

const toItem = ({ id, name, description, owner, created_at: created }: ItemRow): ItemRecord =>
  ({ id, name, description, owner, created_at: created.toISOString() })

/** No page cache here: pages would need the change feed to stay exact across instances. */
export function createItemsRepository (sql: PgSql): ItemsRepository {
  return {
    async list (owner, { limit, offset }) {
      // The window counts the rows before LIMIT, so a page and its total come from one snapshot.
      const rows = owner === undefined
        ? await sql<ListedRow[]>`SELECT *, count(*) OVER () AS total FROM items ORDER BY id LIMIT ${limit} OFFSET ${offset}`
        : await sql<ListedRow[]>`SELECT *, count(*) OVER () AS total FROM items WHERE owner = ${owner}
          ORDER BY id LIMIT ${limit} OFFSET ${offset}`
      const [first] = rows
      if (first !== undefined) return { items: rows.map(toItem), total: first.total }
      // Past the end: no row carries the total.
      const [counted] = owner === undefined
        ? await sql<[{ total: number }]>`SELECT count(*) AS total FROM items`
        : await sql<[{ total: number }]>`SELECT count(*) AS total FROM items WHERE owner = ${owner}`
      return { items: [], total: counted.total }
    },
    async find (id, owner) {
      const [row] = owner === undefined
        ? await sql<ItemRow[]>`SELECT * FROM items WHERE id = ${id}`
        : await sql<ItemRow[]>`SELECT * FROM items WHERE id = ${id} AND owner = ${owner}`
      return row === undefined ? undefined : toItem(row)
    },
    async create (item, now) {
      const [row] = await sql<ItemRow[]>`INSERT INTO items (name, description, owner, created_at)
        VALUES (${item.name}, ${item.description ?? null}, ${item.owner}, ${now}) RETURNING *`
      return toItem(row as ItemRow)
    },
    async delete (id, owner) {
      const result = owner === undefined
        ? await sql`DELETE FROM items WHERE id = ${id}`
        : await sql`DELETE FROM items WHERE id = ${id} AND owner = ${owner}`
      return result.count > 0
    }
  }
}
