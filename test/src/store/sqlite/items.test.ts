import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { createChangeSignal } from '../../../../src/store/changes.js'
import { openDatabase, type SqliteDatabase } from '../../../../src/store/sqlite/db.js'
import { createItemsRepository } from '../../../../src/store/sqlite/items.js'
import { openSqliteStore } from '../../../../src/store/sqlite/store.js'
import type { SqliteStore } from '../../../../src/store/store.js'

const NOW = new Date('2026-01-01T00:00:00Z')
const PAGE = { limit: 20, offset: 0 }

function addUsers (db: SqliteDatabase, ...usernames: string[]): void {
  const insert = db.prepare("INSERT INTO users (username, password_hash, created_at) VALUES (?, 'x', '2026-01-01')")
  for (const username of usernames) insert.run(username)
}

function setup (t: { teardown (fn: () => unknown): void }, path = ':memory:'): SqliteStore {
  const store = openSqliteStore(path)
  t.teardown(store.close)
  addUsers(store.db, 'bob', 'alice')
  return store
}

const names = (page: { items: ReadonlyArray<{ name: string }> }): string[] => page.items.map((item) => item.name)

t.test('a repeated list is served from the cache until a write through the store', async (t) => {
  const { users, items } = setup(t)
  await items.create({ name: 'first', owner: 'bob' }, NOW)
  const page = await items.list('bob', PAGE)
  t.equal(await items.list('bob', PAGE), page, 'the same page, not read again')
  t.ok(Object.isFrozen(page) && Object.isFrozen(page.items) && Object.isFrozen(page.items[0]), 'frozen, since callers share it')

  await items.create({ name: 'second', owner: 'bob' }, NOW)
  t.same(names(await items.list('bob', PAGE)), ['first', 'second'], 'a create shows at once')
  const [first] = (await items.list('bob', PAGE)).items
  t.ok(await items.delete(first!.id, 'bob'))
  t.same(await items.list('bob', PAGE), { items: [{ ...first, id: 2, name: 'second' }], total: 1 }, 'a delete shows at once')

  // A write for another owner, or a cascade from deleting a user, still drops the pages.
  const cached = await items.list('alice', PAGE)
  await items.create({ name: 'hers', owner: 'alice' }, NOW)
  t.not(await items.list('alice', PAGE), cached)
  await items.list('bob', PAGE)
  t.equal(await items.delete(999, 'bob'), false)
  t.equal(await users.delete('nobody'), false)
  await users.delete('bob')
  t.same(await items.list('bob', PAGE), { items: [], total: 0 }, 'deleting the user deleted its items (ON DELETE CASCADE)')
  t.equal((await items.list(undefined, PAGE)).total, 1)
})

t.test('a write committed by another connection (the CLI, another process) shows on the list after the next poll', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'items-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  const path = join(folder, 'app.db')
  const { items, changes } = setup(t, path)
  await items.create({ name: 'mine', owner: 'bob' }, NOW)
  t.same(names(await items.list('bob', PAGE)), ['mine'])

  const other = new Database(path)
  t.teardown(() => other.close())
  other.prepare("INSERT INTO items (name, owner, created_at) VALUES ('theirs', 'bob', '2026-01-02T00:00:00.000Z')").run()
  // The server polls once per request (plugins/db.ts), before the route reads.
  changes.poll()
  t.same(names(await items.list('bob', PAGE)), ['mine', 'theirs'])
  other.prepare("DELETE FROM items WHERE name = 'mine'").run()
  changes.poll()
  t.same(await items.list('bob', PAGE), {
    items: [{ id: 2, name: 'theirs', description: null, owner: 'bob', created_at: '2026-01-02T00:00:00.000Z' }],
    total: 1
  })
})

t.test('the store\'s change signal reports another connection\'s commit once, and never this connection\'s writes', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'items-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  const path = join(folder, 'app.db')
  const store = setup(t, path)
  const seen: unknown[] = []
  const unsubscribe = store.changes.subscribe((change) => { seen.push(change) })
  await store.items.create({ name: 'mine', owner: 'bob' }, NOW)
  store.changes.poll()
  t.same(seen, [], 'its own write')
  const other = new Database(path)
  t.teardown(() => other.close())
  other.prepare("UPDATE users SET disabled = 1 WHERE username = 'bob'").run()
  store.changes.poll()
  store.changes.poll()
  t.same(seen, [{}], 'another connection\'s commit, once: anything may have changed')
  store.db.close()
  store.changes.poll()
  t.same(seen, [{}, {}], 'a closed database cannot prove nothing changed')
  unsubscribe()
  store.changes.poll()
  t.equal(seen.length, 2, 'unsubscribed')
})

t.test('the cache keeps at most cachedRows rows, oldest pages dropped first, and stays correct', async (t) => {
  const db = openDatabase(':memory:')
  t.teardown(() => db.close())
  addUsers(db, 'bob')
  const items = createItemsRepository(db, { cachedRows: 12, changes: createChangeSignal() })
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
