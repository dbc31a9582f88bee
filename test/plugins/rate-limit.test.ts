import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, buildTestApp } from '../helper.js'

async function tokenFrom (app: FastifyInstance, remoteAddress = '127.0.0.1', form: Record<string, string> = { ...BOB }) {
  return await app.inject({
    method: 'POST', url: '/token', remoteAddress,
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
