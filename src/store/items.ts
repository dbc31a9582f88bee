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
