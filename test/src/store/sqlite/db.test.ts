import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../../../src/store/sqlite/db.js'
import { BOB, JOHNDOE, buildTestApp, call, login } from '../../../helper.js'

// API.md "Running": data, users and tokens survive a restart; DATABASE_PATH's folder is created.
t.test('users, items and tokens survive a restart on the same database file', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'db-')), 'nested', 'app.db')
  const first = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const admin = await login(first, JOHNDOE)
  await call(first, admin, { method: 'PATCH', url: '/users/bob', payload: { full_name: 'Robert' } })
  const bob = await login(first, BOB)
  await call(first, bob, { method: 'POST', url: '/items', payload: { name: 'kept' } })
  await first.close()

  const second = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const me = await call(second, bob, { method: 'GET', url: '/users/me' })
  t.equal(me.statusCode, 200, 'the token from before the restart still works')
  t.equal(me.json().full_name, 'Robert', 'demo users are not seeded again over existing ones')
  t.same((await call(second, bob, { method: 'GET', url: '/items' })).json().items.map((item: { name: string }) => item.name), ['kept'])
})

t.test('migrations run once and leave the version at the latest', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'db-')), 'app.db')
  const db = openDatabase(path)
  const version = db.pragma('user_version', { simple: true })
  db.close()
  const again = openDatabase(path)
  t.equal(again.pragma('user_version', { simple: true }), version)
  t.equal(again.pragma('journal_mode', { simple: true }), 'wal')
  again.close()
})
