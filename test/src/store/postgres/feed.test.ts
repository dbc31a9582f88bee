import t, { type Test } from 'tap'
import postgres from 'postgres'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { StoreChange } from '../../../../src/store/changes.js'
import { connect } from '../../../../src/store/postgres/db.js'
import { createChangeFeed, parseChange } from '../../../../src/store/postgres/feed.js'
import { openPostgresStore } from '../../../../src/store/postgres/store.js'
import { openStore } from '../../../../src/store/store.js'
import { BOB, JOHNDOE, buildTestApp, call, login, tokenRequest } from '../../../helper.js'
import { startPostgres, type PostgresCluster } from '../../../postgres.js'

// One cluster for this file; a database per test, since notifications are per database.
let cluster: PostgresCluster
t.before(async () => { cluster = await startPostgres(t) })

type Sql = postgres.Sql<{ bigint: number }>

/** A connection of its own on `url`: "by hand in psql". */
function psql (t: { teardown (fn: () => unknown): void }, url: string): Sql {
  const sql = postgres(url, { max: 1, onnotice: () => {}, types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } } })
  t.teardown(async () => { await sql.end({ timeout: 1 }) })
  return sql
}

/** Resolves once `check` holds, polled every 5 ms; fails the test after `ms`. */
async function until (t: Test, what: string, check: () => boolean | Promise<boolean>, ms = 1000): Promise<number> {
  const start = performance.now()
  while (!await check()) {
    if (performance.now() - start > ms) {
      t.fail(`${what}: not within ${ms} ms`)
      return ms
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return performance.now() - start
}

/** Terminates the server processes of `url`'s database that run the change feed (application_name). */
async function killFeeds (sql: Sql): Promise<number> {
  const killed = await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'fastify-secure-api feed'`
  return killed.length
}

// The command line answers no requests: it needs no change feed, and opens no connection for one.
t.test('a store opened without watching changes opens no listening connection; the server\'s does', async (t) => {
  const url = await cluster.createDatabase()
  const sql = psql(t, url)
  const feeds = async (): Promise<number> => (await sql`SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'fastify-secure-api feed'`).length
  const quiet = await openStore({ databasePath: '', databaseUrl: url, watchChanges: false })
  t.equal(await feeds(), 0, 'none for the command line')
  t.ok(quiet.changes.live(), 'nothing to wait for')
  await quiet.close()
  const unwatched = await openPostgresStore(url, { listen: false })
  await t.rejects(unwatched.changes.backendPid(), /does not listen/)
  await unwatched.close()
  const watching = await openStore({ databasePath: '', databaseUrl: url })
  t.equal(await feeds(), 1, 'one for a server')
  await watching.close()
})

t.test('notifications: parsed from what the triggers send, and anything else means "anything changed"', async (t) => {
  t.same(parseChange('{"u":"bob"}'), { username: 'bob' })
  t.same(parseChange('{"l":"f1","r":5}'), { login: { id: 'f1', revokedAt: 5 } })
  t.same(parseChange('{"h":"x"}'), { heartbeat: 'x' })
  t.same(parseChange('{"l":"f1"}'), {})
  t.same(parseChange('not json'), {})
  t.same(parseChange('null'), {})
})

// API.md "Several instances": a change made through any instance or by hand is seen by every instance;
// the triggers notify if and only if the write commits.
t.test('the triggers notify every revoking change made by hand, at commit only, and nothing else', async (t) => {
  const url = await cluster.createDatabase()
  const store = await openPostgresStore(url)
  t.teardown(store.close)
  t.ok(store.changes.live(), 'live once open')
  const seen: StoreChange[] = []
  store.changes.subscribe((change) => { seen.push(change) })
  const sql = psql(t, url)
  const expect = async (what: string, change: StoreChange): Promise<void> => {
    await until(t, what, () => seen.length > 0)
    t.same(seen.splice(0), [change], what)
  }
  await sql`INSERT INTO users (username, password_hash, roles, created_at) VALUES ('carol', 'x', '["client"]', now())`
  await expect('insert', { username: 'carol' })
  await sql`UPDATE users SET disabled = true WHERE username = 'carol'`
  await expect('disabled', { username: 'carol' })
  await sql`UPDATE users SET roles = '["admin"]' WHERE username = 'carol'`
  await expect('roles', { username: 'carol' })
  await sql`UPDATE users SET token_generation = token_generation + 1 WHERE username = 'carol'`
  await expect('generation (a password change)', { username: 'carol' })
  await sql`INSERT INTO refresh_families (id, username, scope, generation, expires_at) VALUES ('f1', 'carol', 'items:read', 1, 9e12)`
  await sql`UPDATE refresh_families SET revoked_at = 1234 WHERE id = 'f1'`
  await expect('a login revoked', { login: { id: 'f1', revokedAt: 1234 } })
  await sql`UPDATE refresh_families SET revoked_at = 5678 WHERE id = 'f1'`
  await sql.begin(async (tx) => {
    await tx`UPDATE users SET disabled = false WHERE username = 'carol'`
    throw new Error('rolled back')
  }).catch(() => {})
  await sql`UPDATE users SET email = 'c@example.com', full_name = 'Carol' WHERE username = 'carol'`
  await sql`UPDATE users SET username = 'caroline' WHERE username = 'carol'`
  await until(t, 'rename', () => seen.length >= 2)
  t.same(seen.splice(0), [{ username: 'caroline' }, { username: 'carol' }],
    'a rename, both names; nothing for a rolled-back write, an email change, or a login revoked again')
  await sql`DELETE FROM users WHERE username = 'caroline'`
  await expect('delete', { username: 'caroline' })
  await sql`NOTIFY secure_api_changes, 'by hand'`
  await expect('a NOTIFY by hand', {})
})

t.test('the listener connection killed: not live at once, listens again by itself and resyncs first', async (t) => {
  const url = await cluster.createDatabase()
  const store = await openPostgresStore(url, { retryMs: 50 })
  t.teardown(store.close)
  const seen: StoreChange[] = []
  let resynced = 0
  store.changes.subscribe(async (change) => {
    seen.push(change)
    if (change.resync === true) {
      await new Promise((resolve) => setTimeout(resolve, 30))
      resynced++
    }
  })
  const sql = psql(t, url)
  t.equal(await killFeeds(sql), 1)
  await until(t, 'not live', () => !store.changes.live())
  await until(t, 'live again', () => store.changes.live())
  t.equal(resynced, 1, 'live only after its listeners resynced')
  t.same(seen, [{ resync: true }])
  await sql`UPDATE users SET disabled = true WHERE username = 'nobody'`
  await sql`INSERT INTO users (username, password_hash, roles, created_at) VALUES ('dave', 'x', '[]', now())`
  await until(t, 'notified after the reconnect', () => seen.length === 2)
  t.same(seen[1], { username: 'dave' })
  t.ok(await store.changes.backendPid() > 0)
})

t.test('its own heartbeat, coming back through the channel, keeps the feed live', async (t) => {
  const store = await openPostgresStore(await cluster.createDatabase(), { heartbeatMs: 20, staleMs: 100 })
  t.teardown(store.close)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(store.changes.live())
})

t.test('a heartbeat that does not come back: the feed is not live, and listens anew', async (t) => {
  const url = await cluster.createDatabase()
  const ended = connect(url)
  await ended.end()
  // Its heartbeats fail (the pool cannot reach the database), so none comes back to its listener:
  // as if the listener's connection were dead silently.
  const feed = createChangeFeed(url, ended, { heartbeatMs: 20, staleMs: 100, retryMs: 10 })
  t.teardown(feed.close)
  let resyncs = 0
  feed.subscribe((change) => { if (change.resync === true) resyncs++ })
  await feed.start()
  t.ok(feed.live())
  await until(t, 'stale', () => !feed.live())
  await until(t, 'listening again, resynced', () => resyncs > 0)
})

t.test('a database that stops answering: protected routes 503 with Retry-After, public ones unaffected, ' +
  'and recovery by itself', async (t) => {
  const url = await cluster.createDatabase()
  const name = new URL(url).pathname.slice(1)
  const app = buildTestApp(t, { env: { DATABASE_URL: url } })
  const bob = await login(app, BOB)
  const admin = psql(t, url.replace(/\/[^/]+$/, '/postgres'))
  await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
  await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name}`
  await until(t, 'feed down', () => !app.store.changes.live())
  // Down for longer than the feed waits between attempts to listen again: they fail meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 400))
  const down = await call(app, bob, { method: 'GET', url: '/users/me' })
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '1')
  const requestId = down.json().message.split(' ').at(-1) as string
  t.same(down.json(), { statusCode: 503, error: 'Service Unavailable', message: `Something went wrong; quote request id ${requestId}` })
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'a public route reads nothing')
  await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
  await until(t, 'feed back', () => app.store.changes.live(), 3000)
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
})

async function revoke (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString()
  })
}

/** Two apps on one database: two instances in one process (test/cluster/ runs real processes). */
async function twoInstances (t: Test): Promise<{ a: FastifyInstance, b: FastifyInstance, url: string }> {
  const url = await cluster.createDatabase()
  const a = buildTestApp(t, { env: { DATABASE_URL: url } })
  await a.ready()
  const b = buildTestApp(t, { env: { DATABASE_URL: url, DEMO_USERS: 'false' } })
  await b.ready()
  return { a, b, url }
}

// API.md "Several instances": a change made through any instance is refused by every instance within 1 s.
t.test('a change made through one instance: the other refuses the old token within 1 s', async (t) => {
  const { a, b, url } = await twoInstances(t)
  const adminOnB = await login(b, JOHNDOE)
  const refused = async (token: string): Promise<number> =>
    await until(t, 'refused on a', async () => (await call(a, token, { method: 'GET', url: '/users/me' })).statusCode === 401)

  let bob = await login(b, BOB)
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 200, 'issued by b, accepted by a (user state cached)')
  t.equal((await call(b, adminOnB, { method: 'PATCH', url: '/users/bob', payload: { disabled: true } })).statusCode, 200)
  await refused(bob)
  t.equal((await call(b, adminOnB, { method: 'PATCH', url: '/users/bob', payload: { disabled: false } })).statusCode, 200)

  bob = await login(b, BOB)
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 200, 're-enabled, seen on a')
  t.equal((await call(b, adminOnB, { method: 'PATCH', url: '/users/bob', payload: { roles: ['admin'] } })).statusCode, 200)
  await refused(bob)

  const refresh = await tokenRequest(b, BOB)
  bob = refresh.json().access_token
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await revoke(b, refresh.json().refresh_token)).statusCode, 200)
  await refused(bob)

  bob = await login(b, BOB)
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 200)
  await psql(t, url)`UPDATE users SET disabled = true WHERE username = 'bob'`
  await refused(bob)
  t.equal((await call(b, adminOnB, { method: 'DELETE', url: '/users/bob' })).statusCode, 204)
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 401)
})

// API.md "Several instances": never a 200 for a token that may have been revoked, also while the feed is down.
t.test('the listener killed and a login revoked during the gap: refused at once, and after the reconnect', async (t) => {
  const { a, b, url } = await twoInstances(t)
  const issued = await tokenRequest(b, BOB)
  const bob = issued.json().access_token as string
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 200)
  const sql = psql(t, url)
  t.equal(await killFeeds(sql), 2)
  await until(t, 'a not live', () => !a.store.changes.live())
  t.equal((await revoke(b, issued.json().refresh_token)).statusCode, 200)
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 401, 'refused, whether the feed is back yet or not')
  await until(t, 'a live again', () => a.store.changes.live())
  t.equal((await call(a, bob, { method: 'GET', url: '/users/me' })).statusCode, 401, 'and after the resync')
})

// Issue 11 / API.md "Several instances": no query per authorized request while the feed is live.
t.test('while the feed is live, authorized requests read nothing: they pass with the user and login tables locked', async (t) => {
  const url = await cluster.createDatabase()
  const app = buildTestApp(t, { env: { DATABASE_URL: url } })
  const admin = await login(app, JOHNDOE)
  t.equal((await call(app, admin, { method: 'GET', url: '/admin-only' })).statusCode, 200, 'the user state is cached')
  const sql = psql(t, url)
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  const locked = new Promise<void>((resolve) => {
    sql.begin(async (tx) => {
      // Any read of either table waits until this transaction ends.
      await tx`LOCK TABLE users, refresh_families, refresh_tokens IN ACCESS EXCLUSIVE MODE`
      resolve()
      await released
    })
  })
  await locked
  const answers = await Promise.race([
    Promise.all(Array.from({ length: 50 }, async () => (await call(app, admin, { method: 'GET', url: '/admin-only' })).statusCode)),
    new Promise<string>((resolve) => setTimeout(() => { resolve('blocked on the lock: a request read the database') }, 2000))
  ])
  t.same(answers, Array.from({ length: 50 }, () => 200))
  // The contrast, which shows the lock would catch a read: with the feed down, a request reads, and waits.
  t.equal(await killFeeds(psql(t, url)), 1)
  await until(t, 'feed down', () => !app.store.changes.live())
  let answered = false
  const pending = call(app, admin, { method: 'GET', url: '/admin-only' }).then((res) => { answered = true; return res.statusCode })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.notOk(answered, 'waits for the lock')
  release()
  t.equal(await pending, 200, 'and answers once the database does')
})
