import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, buildTestApp } from '../helper.js'

async function tokenFrom (app: FastifyInstance, remoteAddress = '127.0.0.1', form: Record<string, string> = { ...BOB }) {
  return await app.inject({
    method: 'POST',
    url: '/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString()
  })
}

// API.md "Running": TOKEN_RATE_LIMIT requests per minute from one address to /token and /revoke, successes included.
t.test('past TOKEN_RATE_LIMIT requests a minute, /token answers 429 with Retry-After and an OAuth2 error body', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '3' } })
  for (let i = 0; i < 3; i++) {
    const res = await tokenFrom(app)
    t.equal(res.statusCode, 200, 'successes count too')
    t.equal(res.headers['x-ratelimit-remaining'], String(2 - i))
  }
  const res = await tokenFrom(app)
  t.equal(res.statusCode, 429)
  t.equal(res.headers['retry-after'], '60')
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), { error: 'temporarily_unavailable', error_description: 'Too many requests from your address; retry in 1 minute' })
})

t.test('the limit is per address and counts requests the login throttle would refuse', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '2' } })
  await tokenFrom(app, '10.0.0.1', { username: 'x', password: 'y' })
  await tokenFrom(app, '10.0.0.1', { grant_type: 'nope' })
  t.equal((await tokenFrom(app, '10.0.0.1')).statusCode, 429)
  t.equal((await tokenFrom(app, '10.0.0.2')).statusCode, 200)
})

t.test('the rate limit is checked before the body is read', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '1' } })
  await tokenFrom(app)
  const res = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/json' }, payload: '{' })
  t.equal(res.statusCode, 429, 'not 415')
})

t.test('/revoke is limited too', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '2' } })
  const revoke = async () => await app.inject({
    method: 'POST', url: '/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=unknown'
  })
  for (let i = 0; i < 2; i++) t.equal((await revoke()).statusCode, 200)
  const res = await revoke()
  t.equal(res.statusCode, 429)
  t.equal(res.headers['retry-after'], '60')
  t.equal(res.json().error, 'temporarily_unavailable')
})

t.test('other routes are not limited', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '1' } })
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'GET', url: '/health' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ratelimit-limit'], undefined)
  }
})

t.test('TOKEN_RATE_LIMIT=0 turns the limit off', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '0' } })
  for (let i = 0; i < 20; i++) {
    const res = await tokenFrom(app)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ratelimit-limit'], undefined)
  }
})

async function revokeFrom (app: FastifyInstance, remoteAddress = '127.0.0.1') {
  return await app.inject({
    method: 'POST',
    url: '/revoke',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'token=unknown'
  })
}

// API.md "Tokens", /revoke: TOKEN_RATE_LIMIT is one budget per address shared by /token and /revoke.
t.test('/token and /revoke share one budget per address: half to each, then 429 on either', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '4' } })
  for (let i = 0; i < 2; i++) t.equal((await tokenFrom(app)).statusCode, 200)
  for (let i = 0; i < 2; i++) t.equal((await revokeFrom(app)).statusCode, 200)
  const token = await tokenFrom(app)
  t.equal(token.statusCode, 429)
  t.equal(token.json().error, 'temporarily_unavailable')
  const revoke = await revokeFrom(app)
  t.equal(revoke.statusCode, 429)
  t.equal(revoke.headers['retry-after'], '60')
  t.equal((await revokeFrom(app, '10.0.0.9')).statusCode, 200, 'another address has its own budget')
})

t.test('the budget starts again when its minute is over', async (t) => {
  let now = 1_800_000_000_000
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '1' }, now: () => now })
  t.equal((await revokeFrom(app)).statusCode, 200)
  now += 30_000
  const refused = await tokenFrom(app)
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '30', 'what is left of the minute')
  now += 30_000
  t.equal((await tokenFrom(app)).statusCode, 200)
})

// Issue 12.10: one IPv6 client holds a /64; an IPv4-mapped address is the IPv4 client.
t.test('addresses of one IPv6 /64 share a budget, and ::ffff:a.b.c.d counts as a.b.c.d', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '2' } })
  t.equal((await revokeFrom(app, '2001:db8:1:2::1')).statusCode, 200)
  t.equal((await revokeFrom(app, '2001:db8:1:2:aaaa:bbbb:cccc:dddd')).statusCode, 200)
  t.equal((await revokeFrom(app, '2001:db8:1:2::ffff')).statusCode, 429, 'the same /64')
  t.equal((await revokeFrom(app, '2001:db8:1:3::1')).statusCode, 200, 'the next /64')
  t.equal((await revokeFrom(app, '10.1.1.1')).statusCode, 200)
  t.equal((await revokeFrom(app, '::ffff:10.1.1.1')).statusCode, 200)
  t.equal((await revokeFrom(app, '10.1.1.1')).statusCode, 429)
})

// Issue 12.3: every route that hashes a password has a per-address limit, declared on the route.
t.test('the routes that hash a password share a per-address budget of their own, answered in Fastify\'s shape', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '3' } })
  const login = await tokenFrom(app, '127.0.0.1', { username: 'johndoe', password: 'secret' })
  const admin = { authorization: `Bearer ${login.json().access_token as string}` }
  const created = await app.inject({
    method: 'POST', url: '/users', headers: admin, payload: { username: 'carol', password: 'carol-password', roles: ['client'] }
  })
  t.equal(created.statusCode, 201)
  t.equal((await app.inject({
    method: 'PATCH',
    url: '/users/carol',
    headers: admin,
    payload: { password: 'another-password' }
  })).statusCode, 200)
  t.equal((await app.inject({ method: 'PATCH', url: '/users/carol', headers: admin, payload: { full_name: 'Carol' } })).statusCode, 200)
  for (const request of [
    { method: 'POST' as const, url: '/users', payload: { username: 'dave', password: 'dave-password', roles: ['client'] } },
    { method: 'PATCH' as const, url: '/users/carol', payload: { password: 'third-password' } },
    { method: 'PUT' as const, url: '/users/me/password', payload: { current_password: 'secret', new_password: 'new-secret' } }
  ]) {
    const res = await app.inject({ ...request, headers: admin })
    t.equal(res.statusCode, 429, `${request.method} ${request.url}`)
    t.equal(res.headers['retry-after'], '60')
    t.same(res.json(), { statusCode: 429, error: 'Too Many Requests', message: 'Too many requests from your address; retry in 1 minute' })
  }
  t.equal((await tokenFrom(app)).statusCode, 200, 'the token endpoints keep their own budget')
})
