import t from 'tap'
import { HasherBusyError } from '../../src/passwords.js'
import { ALICE, BOB, buildTestApp, countCalls, tokenRequest } from '../helper.js'

const THROTTLED = { LOGIN_MAX_FAILURES: '3', LOGIN_WINDOW: '900' }

async function loginFrom (app: Parameters<typeof tokenRequest>[0], form: Record<string, string>, remoteAddress = '127.0.0.1') {
  return await app.inject({
    method: 'POST',
    url: '/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString()
  })
}

// API.md "Tokens": too many failed attempts → 429 with Retry-After and an OAuth2 error body.
t.test('LOGIN_MAX_FAILURES wrong passwords for one username from one address answer 429, even to the right password', async (t) => {
  let now = 1_800_000_000_000
  const app = buildTestApp(t, { env: THROTTLED, now: () => now })
  for (let i = 0; i < 3; i++) {
    t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 400)
    now += 100_000
  }
  const res = await tokenRequest(app, { ...BOB })
  t.equal(res.statusCode, 429)
  // The first failure leaves the 900 s window 600 s from now.
  t.equal(res.headers['retry-after'], '600')
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), {
    error: 'temporarily_unavailable',
    error_description: 'Too many failed logins for this username from your address; retry in 600 s'
  })
})

t.test('the window slides: a slot frees when the oldest failure is LOGIN_WINDOW old', async (t) => {
  let now = 1_800_000_000_000
  const app = buildTestApp(t, { env: THROTTLED, now: () => now })
  for (let i = 0; i < 3; i++) await tokenRequest(app, { username: 'bob', password: 'wrong' })
  now += 899_000
  t.equal((await tokenRequest(app, { ...BOB })).headers['retry-after'], '1')
  now += 1000
  t.equal((await tokenRequest(app, { ...BOB })).statusCode, 200)
})

t.test('a throttled attempt is answered before any password hashing', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  await app.ready()
  const hashings = countCalls(app.passwords, 'verify', 'verifyDummy')
  for (let i = 0; i < 3; i++) await tokenRequest(app, { username: 'bob', password: 'wrong' })
  t.equal(hashings.calls, 3)
  for (let i = 0; i < 5; i++) t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 429)
  t.equal(hashings.calls, 3)
})

t.test('successful logins are not counted and do not reset the count', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  for (let i = 0; i < 10; i++) t.equal((await tokenRequest(app, { ...BOB })).statusCode, 200)
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  t.equal((await tokenRequest(app, { ...BOB })).statusCode, 200)
  t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 400, 'the third failure')
  t.equal((await tokenRequest(app, { ...BOB })).statusCode, 429)
})

t.test('the count is per address: another address can still log in', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  for (let i = 0; i < 3; i++) await loginFrom(app, { username: 'bob', password: 'wrong' }, '10.0.0.1')
  t.equal((await loginFrom(app, { ...BOB }, '10.0.0.1')).statusCode, 429)
  t.equal((await loginFrom(app, { ...BOB }, '10.0.0.2')).statusCode, 200)
  t.equal((await loginFrom(app, { username: 'johndoe', password: 'secret' }, '10.0.0.1')).statusCode, 200,
    'and another username from the same address')
})

t.test('unknown usernames are throttled exactly like real ones', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED, now: () => 1_800_000_000_000 })
  const answers = async (username: string) => {
    const seen = []
    for (let i = 0; i < 5; i++) {
      const res = await tokenRequest(app, { username, password: 'wrong' })
      seen.push([res.statusCode, res.headers['retry-after'], res.body])
    }
    return seen
  }
  const real = await answers('bob')
  t.same(await answers('nobody'), real)
  t.same(real.map(([status]) => status), [400, 400, 400, 429, 429])
})

t.test('a right password for a disabled user is not a failure', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  for (let i = 0; i < 5; i++) {
    const res = await tokenRequest(app, { ...ALICE })
    t.same(res.json(), { error: 'invalid_grant', error_description: 'This user is disabled' })
  }
})

t.test('an attempt whose password was never checked is not a failure', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  await app.ready()
  const verify = app.passwords.verify
  app.passwords.verify = async () => { throw new HasherBusyError() }
  for (let i = 0; i < 5; i++) t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 503)
  app.passwords.verify = verify
  t.equal((await tokenRequest(app, { ...BOB })).statusCode, 200)
})

async function wrongLoginVia (app: Parameters<typeof tokenRequest>[0], forwardedFor: string, remoteAddress = '10.0.0.2') {
  return await app.inject({
    method: 'POST',
    url: '/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
    payload: 'username=bob&password=wrong'
  })
}

// README "Configuration": TRUST_PROXY; the throttle must key on the client behind the proxy, and only behind it.
t.test('behind a proxy named in TRUST_PROXY, the throttle keys on the client from X-Forwarded-For', async (t) => {
  const app = buildTestApp(t, { env: { ...THROTTLED, TRUST_PROXY: '10.0.0.0/24' } })
  for (let i = 0; i < 3; i++) t.equal((await wrongLoginVia(app, '203.0.113.5')).statusCode, 400)
  t.equal((await wrongLoginVia(app, '203.0.113.5')).statusCode, 429, 'that client is throttled')
  t.equal((await wrongLoginVia(app, '203.0.113.6')).statusCode, 400, 'another client behind the same proxy is not')
  t.equal((await wrongLoginVia(app, '203.0.113.99', '192.0.2.1')).statusCode, 400)
  t.equal((await wrongLoginVia(app, '203.0.113.5', '192.0.2.1')).statusCode, 400,
    'a peer that is not the proxy cannot pick the throttled address')
})

t.test('without TRUST_PROXY, X-Forwarded-For is ignored: the peer address is the client', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  for (const client of ['203.0.113.5', '203.0.113.6', '203.0.113.7']) t.equal((await wrongLoginVia(app, client)).statusCode, 400)
  t.equal((await wrongLoginVia(app, '203.0.113.8')).statusCode, 429, 'a new X-Forwarded-For does not escape the throttle')
})
