import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BOB, JOHNDOE, buildTestApp, call } from '../helper.js'
import { INVALID_GRANT, grant, refresh, revoke } from '../oauth-helpers.js'

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const REVOKED = 'Bearer error="invalid_token", error_description="The access token was revoked"'

// API.md "Tokens": POST /revoke "revokes that refresh token and its login; always 200 {}".
t.test('revoking a refresh token revokes it and every access token of its login', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const other = await grant(app, BOB)
  const res = await revoke(app, { token: login.refresh_token })
  t.equal(res.statusCode, 200)
  t.match(res.headers, NO_STORE)
  t.same(res.json(), {})
  t.same((await refresh(app, login.refresh_token)).json(), INVALID_GRANT)
  const me = await call(app, login.access_token, { method: 'GET', url: '/users/me' })
  t.equal(me.statusCode, 401)
  t.equal(me.headers['www-authenticate'], REVOKED)
  t.equal((await call(app, other.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200, 'another login lives on')
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200)
})

t.test('revoking a refresh token already rotated revokes its login\'s current token too', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const next = (await refresh(app, login.refresh_token)).json<{ refresh_token: string, access_token: string }>()
  t.same((await revoke(app, { token: login.refresh_token })).json(), {})
  t.same((await refresh(app, next.refresh_token)).json(), INVALID_GRANT)
  t.equal((await call(app, next.access_token, { method: 'GET', url: '/users/me' })).statusCode, 401)
})

// Our choice (RFC 7009 §2.1 allows it): an access token revokes its whole login, refresh token included.
t.test('revoking an access token revokes its login, refresh token included', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const res = await revoke(app, { token: login.access_token, token_type_hint: 'access_token' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {})
  const me = await call(app, login.access_token, { method: 'GET', url: '/users/me' })
  t.equal(me.statusCode, 401)
  t.equal(me.headers['www-authenticate'], REVOKED)
  t.same((await refresh(app, login.refresh_token)).json(), INVALID_GRANT)
})

// RFC 7009 §2.1: the hint may be wrong or unknown; the server looks at the token itself.
t.test('token_type_hint is optional and a wrong or unknown hint does not matter', async (t) => {
  const app = buildTestApp(t)
  for (const hint of ['access_token', 'refresh_token', 'id_token']) {
    const login = await grant(app, BOB)
    const res = await revoke(app, { token: login.refresh_token, token_type_hint: hint })
    t.equal(res.statusCode, 200, hint)
    t.same((await refresh(app, login.refresh_token)).json(), INVALID_GRANT, hint)
  }
})

// RFC 7009 §2.2: "invalid tokens do not cause an error response".
t.test('an unknown, malformed, forged or expired token answers 200 {} and revokes nothing', async (t) => {
  let now = Date.now()
  const app = buildTestApp(t, { now: () => now })
  const login = await grant(app, BOB)
  const [header, payload] = login.access_token.split('.')
  const forged = `${header ?? ''}.${payload ?? ''}.${'A'.repeat(43)}`
  for (const token of ['A'.repeat(43), 'not.a.jwt', forged, 'x']) {
    const res = await revoke(app, { token })
    t.equal(res.statusCode, 200, token)
    t.match(res.headers, NO_STORE)
    t.same(res.json(), {}, token)
  }
  now += 3600_000
  t.same((await revoke(app, { token: login.access_token })).json(), {}, 'expired by the app clock')
  t.equal((await refresh(app, login.refresh_token)).statusCode, 200, 'the login was not revoked')
})

t.test('client credentials and unknown fields are ignored at /revoke', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const res = await revoke(app, { token: login.refresh_token, client_id: 'swagger', client_secret: '' })
  t.equal(res.statusCode, 200)
  t.same((await refresh(app, login.refresh_token)).json(), INVALID_GRANT)
})

t.test('a revoke request without token answers 400 invalid_request', async (t) => {
  const app = buildTestApp(t)
  for (const form of [{}, { token: '' }, { token_type_hint: 'refresh_token' }] as Array<Record<string, string>>) {
    const res = await revoke(app, form)
    t.equal(res.statusCode, 400)
    t.match(res.headers, NO_STORE)
    t.same(res.json(), { error: 'invalid_request', error_description: 'The token field is required' })
  }
})

t.test('a revoke request with a repeated or too long token answers 400 invalid_request', async (t) => {
  const app = buildTestApp(t)
  const repeated = await app.inject({
    method: 'POST', url: '/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=a&token=b'
  })
  t.equal(repeated.statusCode, 400)
  t.equal(repeated.json().error, 'invalid_request')
  const long = await revoke(app, { token: 'a'.repeat(4097) })
  t.equal(long.statusCode, 400)
  t.equal(long.json().error, 'invalid_request')
})

t.test('/revoke takes form bodies only', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'POST', url: '/revoke', payload: { token: 'x' } })
  t.equal(res.statusCode, 415)
  t.match(res.headers, NO_STORE)
  t.equal(res.json().error, 'invalid_request')
})

// API.md "Running": "Data, users and tokens survive a restart" - revocations included.
t.test('a revoked login\'s access tokens stay refused after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'revoke-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const env = { DATABASE_PATH: join(dir, 'app.db') }
  const before = buildTestApp(t, { env })
  const revoked = await grant(before, BOB)
  const kept = await grant(before, JOHNDOE)
  await revoke(before, { token: revoked.refresh_token })
  await before.close()

  const after = buildTestApp(t, { env })
  const res = await call(after, revoked.access_token, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
  t.equal((await call(after, kept.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await refresh(after, kept.refresh_token)).statusCode, 200)
})
