import t from 'tap'
import postgres from 'postgres'
import { createSharedLoginThrottle, type LoginAttempt } from '../../../../src/login-throttle.js'
import { countedRateLimitStore } from '../../../../src/rate-limit-store.js'
import { isDatabaseFault } from '../../../../src/store/errors.js'
import { openPostgresStore } from '../../../../src/store/postgres/store.js'
import { buildTestApp, tokenRequest } from '../../../helper.js'
import { startPostgres, type PostgresCluster } from '../../../postgres.js'

let cluster: PostgresCluster
t.before(async () => { cluster = await startPostgres(t) })

type Opened = Awaited<ReturnType<typeof openPostgresStore>>

/** Three stores on one new schema: three instances' views of the same counters. */
async function threeStores (t: { teardown (fn: () => unknown): void }): Promise<{ stores: Opened[], url: string }> {
  const url = await cluster.createSchema()
  const stores = await Promise.all([1, 2, 3].map(async () => await openPostgresStore(url)))
  t.teardown(async () => { await Promise.all(stores.map(async (store) => { await store.close() })) })
  return { stores, url }
}

async function rows (t: { teardown (fn: () => unknown): void }, url: string, query: string): Promise<unknown[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } } })
  t.teardown(async () => { await sql.end({ timeout: 1 }) })
  return [...await sql.unsafe(query)]
}

// API.md "Several instances": LOGIN_MAX_FAILURES counts across all instances.
t.test('the shared login throttle: 30 parallel attempts through three instances count exactly max, ' +
  'then refuse with the window\'s wait', async (t) => {
  const { stores } = await threeStores(t)
  let clock = 1_000_000
  const throttles = stores.map((store) =>
    createSharedLoginThrottle({ counters: store.counters, max: 5, windowSeconds: 60, now: () => clock }))
  const attempts = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
    await throttles[i % 3]?.attempt('bob', '10.0.0.1') as LoginAttempt))
  t.equal(attempts.filter((attempt) => attempt.allowed).length, 5)
  t.same(attempts.find((attempt) => !attempt.allowed), { allowed: false, retryAfterSeconds: 60 })
  t.match(await throttles[0]?.attempt('bob', '10.0.0.2'), { allowed: true }, 'another address has a budget of its own')
  t.match(await throttles[0]?.attempt('alice', '10.0.0.1'), { allowed: true }, 'and another username')

  // A release un-counts one attempt, once, on any instance's view.
  const allowed = attempts.find((attempt) => attempt.allowed) as Extract<LoginAttempt, { allowed: true }>
  await allowed.release()
  await allowed.release()
  t.match(await throttles[2]?.attempt('bob', '10.0.0.1'), { allowed: true })
  t.match(await throttles[1]?.attempt('bob', '10.0.0.1'), { allowed: false })

  clock += 59_001
  t.same(await throttles[1]?.attempt('bob', '10.0.0.1'), { allowed: false, retryAfterSeconds: 1 }, 'at least 1 s')
  clock += 1000
  t.match(await throttles[1]?.attempt('bob', '10.0.0.1'), { allowed: true }, 'the window slid past them')
})

t.test('ended failures and windows are pruned once per window', async (t) => {
  const { stores, url } = await threeStores(t)
  const [store] = stores as [Opened]
  let clock = 1_000_000
  const throttle = createSharedLoginThrottle({ counters: store.counters, max: 5, windowSeconds: 60, now: () => clock })
  await throttle.attempt('bob', '10.0.0.1')
  await store.counters.hit('k', clock, 1000)
  t.equal((await rows(t, url, 'SELECT key FROM login_failures')).length, 1)
  clock += 60_000
  await throttle.attempt('alice', '10.0.0.1')
  t.same((await rows(t, url, 'SELECT key FROM login_failures')), [{ key: '["10.0.0.1","alice"]' }], 'bob\'s failure left the window')
  t.same(await rows(t, url, 'SELECT key FROM rate_limits'), [], 'and the ended rate limit window')
})

// API.md "Several instances": TOKEN_RATE_LIMIT counts across all instances.
t.test('the counted rate limit store: 30 parallel hits through three instances are 1..30, one window, then a new one', async (t) => {
  const { stores } = await threeStores(t)
  let clock = 1_000_000
  const views = stores.map((store) => {
    const Store = countedRateLimitStore({ counters: () => store.counters, now: () => clock, pruneEveryMs: 10_000 })
    return new Store().child({ groupId: 'token-endpoints' })
  })
  const incr = async (i: number, key = 'k'): Promise<{ current: number, ttl: number }> => await new Promise((resolve, reject) => {
    views[i % 3]?.incr(key, (err, result) => { if (err === null) resolve(result); else reject(err) }, 60_000, 10)
  })
  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => await incr(i)))
  t.same(results.map((result) => result.current).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1))
  t.same(new Set(results.map((result) => result.ttl)), new Set([60_000]))
  clock += 20_000
  t.same(await incr(0), { current: 31, ttl: 40_000 })
  const OtherStore = countedRateLimitStore({ counters: () => stores[0]?.counters as Opened['counters'], now: () => clock })
  const other = new OtherStore().child({ routeInfo: { method: 'POST', url: '/users' } })
  const otherResult = await new Promise((resolve) => { other.incr('k', (_err, result) => { resolve(result) }, 60_000, 10) })
  t.same(otherResult, { current: 1, ttl: 60_000 }, 'another route, another budget')
  clock += 40_000
  t.same(await incr(1), { current: 1, ttl: 60_000 }, 'a new window')
})

t.test('the counted rate limit store passes a database fault on, to be answered 503', async (t) => {
  const store = await openPostgresStore(await cluster.createSchema())
  await store.close()
  const view = new (countedRateLimitStore({ counters: () => store.counters, now: Date.now }))()
  const err = await new Promise((resolve) => { view.incr('k', (err) => { resolve(err) }, 60_000, 10) })
  t.ok(isDatabaseFault(err))
})

// API.md "Several instances": both limits count across instances, through the real routes.
t.test('two instances: the login throttle and the /token rate limit count across both', async (t) => {
  const url = await cluster.createSchema()
  const env = { DATABASE_URL: url, LOGIN_MAX_FAILURES: '2', TOKEN_RATE_LIMIT: '5' }
  const a = buildTestApp(t, { env })
  await a.ready()
  const b = buildTestApp(t, { env: { ...env, DEMO_USERS: 'false' } })
  t.equal((await tokenRequest(a, { username: 'bob', password: 'wrong' })).statusCode, 400)
  t.equal((await tokenRequest(b, { username: 'bob', password: 'wrong' })).statusCode, 400)
  const throttled = await tokenRequest(a, { username: 'bob', password: 'secret3' })
  t.equal(throttled.statusCode, 429)
  t.match(throttled.headers['retry-after'], /^\d+$/)
  t.equal(throttled.json().error, 'temporarily_unavailable')
  t.equal((await tokenRequest(b, { username: 'bob', password: 'secret3' })).statusCode, 429, 'on the other instance too')
  // Five requests so far, from the same address: the sixth, on either instance, is over the budget.
  t.equal((await tokenRequest(b, { username: 'johndoe', password: 'secret' })).statusCode, 200)
  const limited = await tokenRequest(a, { username: 'johndoe', password: 'secret' })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { error: 'temporarily_unavailable', error_description: /^Too many requests from your address/ })
})
