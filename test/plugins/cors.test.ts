import t from 'tap'
import { buildTestApp, JOHNDOE, login } from '../helper.js'

const ORIGIN = 'https://app.example'

// Issue 4.2: CORS is off unless CORS_ORIGINS is set.
t.test('without CORS_ORIGINS no answer allows another origin', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/health', headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  const preflight = await app.inject({
    method: 'OPTIONS', url: '/token', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' }
  })
  t.equal(preflight.statusCode, 404)
  t.equal(preflight.headers['access-control-allow-origin'], undefined)
})

t.test('a listed origin gets a working preflight for /token, without credentials', async (t) => {
  const app = buildTestApp(t, { env: { CORS_ORIGINS: `${ORIGIN}, https://other.example` } })
  const res = await app.inject({
    method: 'OPTIONS',
    url: '/token',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
  })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.match(res.headers['access-control-allow-methods'], /POST/)
  t.match(String(res.headers['access-control-allow-headers']).toLowerCase(), /authorization/)
  t.match(String(res.headers['access-control-allow-headers']).toLowerCase(), /content-type/)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
  t.equal(res.headers.vary, 'Origin')
})

t.test('a listed origin can read answers and their WWW-Authenticate', async (t) => {
  const app = buildTestApp(t, { env: { CORS_ORIGINS: ORIGIN } })
  const denied = await app.inject({ method: 'GET', url: '/users/me', headers: { origin: ORIGIN } })
  t.equal(denied.statusCode, 401)
  t.equal(denied.headers['access-control-allow-origin'], ORIGIN)
  t.match(String(denied.headers['access-control-expose-headers']), /WWW-Authenticate/)
  const token = await login(app, JOHNDOE)
  const res = await app.inject({ method: 'GET', url: '/users/me', headers: { origin: ORIGIN, authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
})

t.test('an origin that is not listed gets no CORS headers', async (t) => {
  const app = buildTestApp(t, { env: { CORS_ORIGINS: ORIGIN } })
  const res = await app.inject({
    method: 'OPTIONS', url: '/token', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }
  })
  t.equal(res.headers['access-control-allow-origin'], undefined)
  const get = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } })
  t.equal(get.headers['access-control-allow-origin'], undefined)
})
