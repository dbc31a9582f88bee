import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { openDatabase } from '../../../../src/store/sqlite/db.js'
import { openSqliteStore, openWalIndexHeader } from '../../../../src/store/sqlite/store.js'

function databaseFile (t: { teardown (fn: () => unknown): void }): string {
  const folder = mkdtempSync(join(tmpdir(), 'wal-index-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  return join(folder, 'app.db')
}

t.test('the WAL index header moves with every commit, of this connection or another, and only then', async (t) => {
  const path = databaseFile(t)
  const db = openDatabase(path)
  t.teardown(() => db.close())
  const header = openWalIndexHeader(`${path}-shm`)
  t.ok(header, 'opened beside a database in WAL mode')
  t.teardown(() => header?.close())

  t.equal(header!.moved(), false, 'no commit since it was opened')
  db.prepare('SELECT count(*) FROM users').get()
  t.equal(header!.moved(), false, 'a read is not a commit')

  db.prepare("INSERT INTO users (username, password_hash, created_at) VALUES ('bob', 'x', '2026-01-01')").run()
  t.equal(header!.moved(), true, 'this connection\'s commit')
  t.equal(header!.moved(), false, 'told once')

  const other = new Database(path)
  t.teardown(() => other.close())
  other.prepare("UPDATE users SET disabled = 1 WHERE username = 'bob'").run()
  t.equal(header!.moved(), true, 'another connection\'s commit')
  t.equal(header!.moved(), false, 'told once')

  other.exec('BEGIN IMMEDIATE')
  other.prepare("UPDATE users SET disabled = 0 WHERE username = 'bob'").run()
  t.equal(header!.moved(), false, 'a transaction not yet committed')
  other.exec('COMMIT')
  t.equal(header!.moved(), true, 'its commit')
})

t.test('a header that cannot be read counts as moved; none is opened where there is no WAL index', async (t) => {
  const path = databaseFile(t)
  t.equal(openWalIndexHeader(`${path}-shm`), undefined, 'no file')
  const db = openDatabase(path)
  t.teardown(() => db.close())
  const header = openWalIndexHeader(`${path}-shm`)!
  header.close()
  t.equal(header.moved(), true, 'closed: nothing proves that no one committed')
  t.equal(header.moved(), true, 'every time')
  header.close()

  const unreadable = openWalIndexHeader(dirname(path))!
  t.teardown(() => unreadable.close())
  t.equal(unreadable.moved(), true, 'a read that fails (here a folder: EISDIR)')
})

t.test('a database path that is a symbolic link: another connection\'s commit through the real path is seen', async (t) => {
  const real = databaseFile(t)
  const link = join(dirname(databaseFile(t)), 'link.db')
  openDatabase(real).close()
  symlinkSync(real, link)
  // A leftover file where the link's own name would put the WAL index must not be read instead.
  writeFileSync(`${link}-shm`, Buffer.alloc(32_768))
  const store = openSqliteStore(link)
  t.teardown(store.close)
  const seen: unknown[] = []
  store.changes.subscribe((change) => { seen.push(change) })
  store.changes.poll()
  const other = new Database(real)
  t.teardown(() => other.close())
  other.prepare("INSERT INTO users (username, password_hash, created_at) VALUES ('carol', 'x', '2026-01-01')").run()
  store.changes.poll()
  t.same(seen, [{}], 'the commit, once')
})
