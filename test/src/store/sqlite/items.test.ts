import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { openDatabase, type SqliteDatabase } from '../../../src/db.js'
import { createItemsRepository, type ItemsRepository } from '../../../src/repositories/items.js'

const NOW = new Date('2026-01-01T00:00:00Z')
const PAGE = { limit: 20, offset: 0 }

function addUsers (db: SqliteDatabase, ...usernames: string[]): void {
  const insert = db.prepare("INSERT INTO users (username, password_hash, created_at) VALUES (?, 'x', '2026-01-01')")
  for (const username of usernames) insert.run(username)
}

function setup (t: { teardown (fn: () => unknown): void }, path = ':memory:', options?: { cachedRows: number }): { db: SqliteDatabase, items: ItemsRepository } {
  const db = openDatabase(path)
  t.teardown(() => db.close())
  addUsers(db, 'bob', 'alice')
  return { db, items: createItemsRepository(db, options) }
}

const names = (page: { items: ReadonlyArray<{ name: string }> }): string[] => page.items.map((item) => item.name)

// API.md "Routes": GET /items, own items or every item, with total.
t.test('list pages one owner\'s items, or everybody\'s, with the total', async (t) => {
  const { items } = setup(t)
  for (const [name, owner] of [['b1', 'bob'], ['a1', 'alice'], ['b2', 'bob'], ['b3', 'bob']] as const) await items.create({ name, owner }, NOW)
  t.same(await items.list('bob', PAGE), {
    items: [1, 3, 4].map((id, i) => ({ id, name: `b${i + 1}`, description: null, owner: 'bob', created_at: NOW.toISOString() })),
    total: 3
  })
  t.same(names(await items.list('bob', { limit: 1, offset: 1 })), ['b2'])
  t.same(await items.list('bob', { limit: 5, offset: 9 }), { items: [], total: 3 })
  t.same(names(await items.list(undefined, { limit: 2, offset: 1 })), ['a1', 'b2'])
  t.equal((await items.list(undefined, PAGE)).total, 4)
  t.same(await items.list('carol', PAGE), { items: [], total: 0 })
})

t.test('a repeated list is served from the cache until this connection writes anything', async (t) => {
  const { db, items } = setup(t)
  await items.create({ name: 'first', owner: 'bob' }, NOW)
  const page = await items.list('bob', PAGE)
  t.equal(await items.list('bob', PAGE), page, 'the same page, not read again')
  t.ok(Object.isFrozen(page) && Object.isFrozen(page.items) && Object.isFrozen(page.items[0]), 'frozen, since callers share it')

  await items.create({ name: 'second', owner: 'bob' }, NOW)
  t.same(names(await items.list('bob', PAGE)), ['first', 'second'], 'a create shows at once')
  const [first] = (await items.list('bob', PAGE)).items
  t.ok(await items.delete(first!.id, 'bob'))
  t.same(await items.list('bob', PAGE), { items: [{ ...first, id: 2, name: 'second' }], total: 1 }, 'a delete shows at once')

  // A write to another table, or a cascade from one, still drops the pages.
  const cached = await items.list('alice', PAGE)
  await items.create({ name: 'hers', owner: 'alice' }, NOW)
  t.not(await items.list('alice', PAGE), cached)
  db.prepare('DELETE FROM users WHERE username = ?').run('bob')
  t.same(await items.list('bob', PAGE), { items: [], total: 0 }, 'deleting the user deleted its items (ON DELETE CASCADE)')
  t.equal((await items.list(undefined, PAGE)).total, 1)
})

t.test('a write committed by another connection (the CLI, another process) shows on the next list', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'items-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  const path = join(folder, 'app.db')
  const { items } = setup(t, path)
  await items.create({ name: 'mine', owner: 'bob' }, NOW)
  t.same(names(await items.list('bob', PAGE)), ['mine'])

  const other = new Database(path)
  t.teardown(() => other.close())
  other.prepare("INSERT INTO items (name, owner, created_at) VALUES ('theirs', 'bob', '2026-01-02T00:00:00.000Z')").run()
  t.same(names(await items.list('bob', PAGE)), ['mine', 'theirs'])
  other.prepare("DELETE FROM items WHERE name = 'mine'").run()
  t.same(await items.list('bob', PAGE), { items: [{ id: 2, name: 'theirs', description: null, owner: 'bob', created_at: '2026-01-02T00:00:00.000Z' }], total: 1 })
})

t.test('the cache keeps at most cachedRows rows, oldest pages dropped first, and stays correct', async (t) => {
  const { items } = setup(t, ':memory:', { cachedRows: 12 })
  for (let i = 0; i < 30; i++) await items.create({ name: `n${i}`, owner: 'bob' }, NOW)
  const first = await items.list('bob', { limit: 5, offset: 0 })
  t.equal(await items.list('bob', { limit: 5, offset: 0 }), first, 'kept: 6 rows of 12')
  const second = await items.list('bob', { limit: 5, offset: 5 })
  await items.list('bob', { limit: 5, offset: 10 })
  t.not(await items.list('bob', { limit: 5, offset: 0 }), first, 'the oldest page was dropped for the third')
  t.same(names(await items.list('bob', { limit: 5, offset: 0 })), ['n0', 'n1', 'n2', 'n3', 'n4'])
  t.not(await items.list('bob', { limit: 5, offset: 5 }), second, 'and the second for the first, read again')
  t.same(names(await items.list('bob', { limit: 5, offset: 25 })), ['n25', 'n26', 'n27', 'n28', 'n29'])
})
