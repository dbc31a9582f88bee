import { linkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { DatabaseUnavailableError, isDatabaseFault } from '../../src/store/errors.js'
import { BOB, buildTestApp, call, login, tokenRequest } from '../helper.js'

type App = ReturnType<typeof buildTestApp>

async function fileApp (t: Test): Promise<{ app: App, path: string, token: string }> {
  const path = join(t.testdir(), 'app.db')
  const app = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const token = await login(app, BOB)
  return { app, path, token }
}

async function expectDown (t: Test, app: App, token: string, write: boolean): Promise<void> {
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'unavailable' })
  const res = write
    ? await call(app, token, { method: 'POST', url: '/items', payload: { name: 'lost' } })
    : await call(app, token, { method: 'GET', url: '/items' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { statusCode: 503, error: 'Service Unavailable', message: /^Something went wrong; quote request id \S+$/ })
  t.notMatch(res.body, /SQLITE|locked|readonly|database/i, 'no internal detail')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process is alive')
}

async function expectUp (t: Test, app: App, token: string): Promise<void> {
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
  t.equal((await call(app, token, { method: 'POST', url: '/items', payload: { name: 'kept' } })).statusCode, 201)
  t.equal((await call(app, token, { method: 'GET', url: '/items' })).statusCode, 200)
}

// Issue 4.6 and API.md "Routes" /ready: 503 when the database does not answer; a clean 5xx elsewhere; recovery.
t.test('a database locked by another connection gives 503s, then recovers when the lock is released', async (t) => {
  const { app, path, token } = await fileApp(t)
  const other = new Database(path, { timeout: 0 })
  other.exec('BEGIN EXCLUSIVE')
  await expectDown(t, app, token, true)
  other.exec('COMMIT')
  other.close()
  await expectUp(t, app, token)
})

t.test('a removed database file stops writes and readiness until the file is back', async (t) => {
  const { app, path, token } = await fileApp(t)
  const kept = `${path}.kept`
  linkSync(path, kept)
  unlinkSync(path)
  await expectDown(t, app, token, true)
  t.equal((await call(app, token, { method: 'GET', url: '/items' })).statusCode, 200, 'reads of the open file still answer')
  linkSync(kept, path)
  await expectUp(t, app, token)
})

t.test('a read-only database refuses writes and readiness, and recovers', async (t) => {
  const { app, token } = await fileApp(t)
  // What SQLite answers for a read-only file or file system: SQLITE_READONLY on every write.
  app.db.pragma('query_only = 1')
  await expectDown(t, app, token, true)
  app.db.pragma('query_only = 0')
  await expectUp(t, app, token)
})

t.test('a closed database answers 503 on protected routes and /token, not 500', async (t) => {
  const { app, token } = await fileApp(t)
  await call(app, token, { method: 'GET', url: '/items' })
  app.db.close()
  await expectDown(t, app, token, false)
  const res = await tokenRequest(app, { ...BOB })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.json(), {
    error: 'temporarily_unavailable',
    error_description: /^The service is unavailable; retry shortly \(request id \S+\)$/
  })
})

t.test('isDatabaseFault tells unavailability from other errors', async (t) => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_READONLY_DBMOVED', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'SQLITE_FULL',
    'SQLITE_CORRUPT']) {
    t.ok(isDatabaseFault(Object.assign(new Error(code), { code })), code)
  }
  t.ok(isDatabaseFault(new DatabaseUnavailableError('x')))
  t.ok(isDatabaseFault(new TypeError('The database connection is not open')))
  for (const err of [Object.assign(new Error(), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }), new Error('x'), new TypeError('x'), null,
    undefined, 'SQLITE_BUSY']) {
    t.notOk(isDatabaseFault(err), String(err))
  }
})
