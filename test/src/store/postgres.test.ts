import t from 'tap'
import postgres from 'postgres'
import { seedDemoUsers } from '../../../src/demo-users.js'
import { createPasswordHasher } from '../../../src/passwords.js'
import { isDatabaseFault } from '../../../src/store/errors.js'
import { SCHEMA_VERSION } from '../../../src/store/postgres/db.js'
import { openPostgresStore } from '../../../src/store/postgres/store.js'
import { openStore } from '../../../src/store/store.js'
import { BOB, JOHNDOE, buildTestApp, call, login } from '../../helper.js'
import { startPostgres, type PostgresCluster } from '../../postgres.js'
import { storeContract } from './contract.js'

// One cluster for this file (about 1 s to start here), one database per test.
let cluster: PostgresCluster
t.before(async () => { cluster = await startPostgres(t) })

/** A client of its own on `url`, for looking at the database beside the store. */
function client (t: { teardown (fn: () => unknown): void }, url: string): postgres.Sql<{ bigint: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } } })
  t.teardown(async () => { await sql.end({ timeout: 1 }) })
  return sql
}

storeContract(t, async (t) => {
  const url = await cluster.createSchema()
  const store = await openPostgresStore(url)
  t.teardown(store.close)
  const sql = client(t, url)
  return { store, rows: async (query) => [...await sql.unsafe(query)] }
})

t.test('DATABASE_URL opens the PostgreSQL store, and its location hides the password', async (t) => {
  const url = await cluster.createSchema()
  const store = await openStore({ databasePath: ':memory:', databaseUrl: url.replace('postgres@', 'postgres:s3cret@') })
  t.teardown(store.close)
  t.equal(store.kind, 'postgres')
  t.notMatch(store.location, /s3cret/)
  t.match(store.location, /^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\?search_path=test_\d+$/)
})

// API.md "Several instances": instances started together on an empty database create the schema exactly once.
t.test('three stores opened at once on an empty database migrate it and seed the demo users exactly once', async (t) => {
  const url = await cluster.createSchema()
  const stores = await Promise.all([1, 2, 3].map(async () => await openPostgresStore(url)))
  t.teardown(async () => { await Promise.all(stores.map(async (store) => { await store.close() })) })
  const passwords = createPasswordHasher({ cost: 'test' })
  const now = new Date('2026-01-01T00:00:00Z')
  await Promise.all(stores.map(async (store) => { await seedDemoUsers(store.users, passwords, now) }))
  const sql = client(t, url)
  t.same([...await sql`SELECT version FROM schema_version`], [{ version: SCHEMA_VERSION }], 'one version row')
  t.same([...await sql`SELECT username FROM users ORDER BY username`].map((row) => row.username), ['alice', 'bob', 'johndoe'])
  // Reopening an up-to-date database changes nothing.
  const again = await openPostgresStore(url)
  t.teardown(again.close)
  t.equal(await again.users.count(), 3)
})

t.test('a database whose schema is newer than the server is refused, and the connections closed', async (t) => {
  const url = await cluster.createSchema()
  const sql = client(t, url)
  await sql`CREATE TABLE schema_version (version integer NOT NULL)`
  await sql`INSERT INTO schema_version VALUES (${SCHEMA_VERSION + 1})`
  await t.rejects(openPostgresStore(url), {
    message: `the database schema (version ${SCHEMA_VERSION + 1}) is newer than this server's (${SCHEMA_VERSION})`
  })
})

// API.md "Several instances": a refresh token presented to two instances at once is honoured at most once.
t.test('50 concurrent rotations of one token through three instances: at most one winner, and the login is revoked', async (t) => {
  const url = await cluster.createSchema()
  const stores = await Promise.all([1, 2, 3].map(async () => await openPostgresStore(url)))
  t.teardown(async () => { await Promise.all(stores.map(async (store) => { await store.close() })) })
  const [first] = stores
  await first?.refreshTokens.createFamily({ id: 'f1', username: 'bob', scope: 'items:read', generation: 0 }, 'h1', 10_000)
  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) =>
    await stores[i % 3]?.refreshTokens.rotate('h1', `next-${i}`, 1000 + i, 9000)))
  t.equal(results.filter((result) => result === 'rotated').length, 1)
  // The second use finds the token used (reuse: the login is revoked); later ones find it used or the login revoked.
  t.ok(results.includes('reused'))
  t.same(results.filter((result) => result !== 'rotated' && result !== 'reused' && result !== 'invalid'), [])
  t.match(await first?.refreshTokens.find('h1'), { revoked_at: Number })
  const sql = client(t, url)
  t.same([...await sql`SELECT count(*) AS n FROM refresh_tokens`], [{ n: 2 }], 'one successor stored')
})

t.test('checkReady answers for a writable database, and refuses a read-only one', async (t) => {
  const url = await cluster.createDatabase()
  const store = await openPostgresStore(url)
  await store.checkReady()
  await store.close()
  const admin = client(t, url.replace(/\/[^/]+$/, '/postgres'))
  await admin.unsafe(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET default_transaction_read_only = on`)
  // As a standby: an up-to-date database opens without writing, and answers, but takes no write.
  const readOnly = await openPostgresStore(url)
  t.teardown(readOnly.close)
  await t.rejects(readOnly.checkReady(), { name: 'DatabaseUnavailableError', message: 'Database unavailable: the database is read-only' })
})

t.test('a database that refuses connections fails the open as a database fault; a closed store is not ready', async (t) => {
  const url = await cluster.createDatabase()
  const store = await openPostgresStore(url)
  await store.close()
  await t.rejects(store.checkReady(), { name: 'DatabaseUnavailableError' })
  const admin = client(t, url.replace(/\/[^/]+$/, '/postgres'))
  await admin.unsafe(`ALTER DATABASE ${new URL(url).pathname.slice(1)} ALLOW_CONNECTIONS false`)
  const err = await openPostgresStore(url).catch((err: unknown) => err)
  t.match(err, { message: /is not currently accepting connections/ })
  t.ok(isDatabaseFault(err), 'answered 503 by the error handler')
})

// API.md "Several instances (PostgreSQL)": the app on DATABASE_URL serves the same routes.
t.test('the app on PostgreSQL: /token, /items and /users work as on SQLite', async (t) => {
  const url = await cluster.createSchema()
  const app = buildTestApp(t, { env: { DATABASE_URL: url } })
  await app.ready()
  t.equal(app.store.kind, 'postgres')
  t.throws(() => app.db, /app\.db is the SQLite connection, and this app runs on PostgreSQL/)
  const admin = await login(app, JOHNDOE)
  const bob = await login(app, BOB)
  const created = await call(app, bob, { method: 'POST', url: '/items', payload: { name: 'pg item', description: 'stored in PostgreSQL' } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), {
    id: 1,
    name: 'pg item',
    description: 'stored in PostgreSQL',
    owner: 'bob',
    created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
  })
  t.same((await call(app, bob, { method: 'GET', url: '/items' })).json(), { items: [created.json()], total: 1 })
  t.equal((await call(app, bob, { method: 'GET', url: '/items/1' })).statusCode, 200)
  t.equal((await call(app, admin, {
    method: 'POST', url: '/users', payload: { username: 'carol', password: 'carol-password', roles: ['client'] }
  })).statusCode, 201)
  t.equal((await call(app, admin, {
    method: 'POST', url: '/users', payload: { username: 'carol', password: 'carol-password', roles: ['client'] }
  })).statusCode, 409)
  const users = await call(app, admin, { method: 'GET', url: '/users?limit=2' })
  t.equal(users.statusCode, 200)
  t.same(users.json().users.map((u: { username: string }) => u.username), ['alice', 'bob'])
  t.equal(users.json().total, 4)
  t.equal((await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { disabled: true } })).statusCode, 200)
  t.equal((await call(app, bob, { method: 'GET', url: '/items' })).statusCode, 401, 'disabled: refused on the next request')
  t.equal((await call(app, admin, { method: 'DELETE', url: '/items/1' })).statusCode, 204)
  t.same((await app.inject({ method: 'GET', url: '/ready' })).json(), { status: 'ok' })
})

t.test('the app on PostgreSQL: refresh rotation and reuse detection', async (t) => {
  const url = await cluster.createSchema()
  const app = buildTestApp(t, { env: { DATABASE_URL: url } })
  const form = (fields: Record<string, string>) => ({
    method: 'POST' as const,
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString()
  })
  const first = (await app.inject(form({ username: 'bob', password: 'secret3' }))).json()
  const second = await app.inject(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }))
  t.equal(second.statusCode, 200)
  const reuse = await app.inject(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }))
  t.same(reuse.json(), { error: 'invalid_grant', error_description: 'The refresh token was already used; its login is revoked' })
  const refreshed = await app.inject(form({ grant_type: 'refresh_token', refresh_token: second.json().refresh_token }))
  t.equal(refreshed.statusCode, 400, 'the whole login is revoked')
  t.equal((await call(app, second.json().access_token, { method: 'GET', url: '/users/me' })).statusCode, 401)
})
