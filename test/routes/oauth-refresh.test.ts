import t from 'tap'
import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import { BOB, JOHNDOE, buildTestApp, call, tokenRequest } from '../helper.js'
import { INVALID_GRANT, REUSED, grant, refresh } from '../oauth-helpers.js'

const claimsOf = (jwt: string) => decodeJwt<{ jti: string, scope: string }>(jwt)
const loginIdOf = (jwt: string) => claimsOf(jwt).jti.split('.')[1]
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

// API.md "Tokens": success carries refresh_token; "Refresh token: an opaque random string (not a JWT), stored only as a hash".
t.test('the password grant answers an opaque refresh token that is stored only as its hash', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { username: BOB.username, password: BOB.password })
  t.equal(res.statusCode, 200)
  t.match(res.headers, NO_STORE)
  const body = res.json<{ refresh_token: string }>()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url, no dots: not a JWT')
  const rows = app.db.prepare('SELECT * FROM refresh_tokens').all()
  t.same(rows.map((row) => (row as { token_hash: string }).token_hash),
    [createHash('sha256').update(body.refresh_token).digest('base64url')])
  t.notMatch(JSON.stringify(app.db.prepare('SELECT * FROM refresh_families').all()), body.refresh_token)
})

// API.md "Refresh token": "single use: each use returns a new one (rotation)".
t.test('a refresh answers a new access token and a new refresh token for the same login', async (t) => {
  const app = buildTestApp(t)
  const first = await grant(app, BOB)
  const res = await refresh(app, first.refresh_token)
  t.equal(res.statusCode, 200)
  t.match(res.headers, NO_STORE)
  const body = res.json<{ access_token: string, refresh_token: string }>()
  t.match(body, { token_type: 'bearer', expires_in: 1800, scope: 'items:read items:write' })
  t.not(body.refresh_token, first.refresh_token)
  t.not(body.access_token, first.access_token)
  t.equal(loginIdOf(body.access_token), loginIdOf(first.access_token), 'the login (family) is kept')
  t.equal((await call(app, body.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await call(app, first.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200, 'rotation alone does not revoke')
})

// API.md "Refresh token": "presenting a used one revokes every token of that login (reuse detection) and answers invalid_grant".
t.test('reusing the first refresh token of a chain of three rotations revokes every later token of the login', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const chain = [login]
  for (let i = 0; i < 3; i++) {
    const res = await refresh(app, chain[chain.length - 1]?.refresh_token ?? '')
    t.equal(res.statusCode, 200)
    chain.push(res.json())
  }
  const reuse = await refresh(app, login.refresh_token)
  t.equal(reuse.statusCode, 400)
  t.match(reuse.headers, NO_STORE)
  t.same(reuse.json(), REUSED)
  const third = chain[3]?.refresh_token ?? ''
  t.same((await refresh(app, third)).json(), INVALID_GRANT, 'the third-generation token is dead')
  for (const [i, tokens] of chain.entries()) {
    const res = await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })
    t.equal(res.statusCode, 401, `access token ${i}`)
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token was revoked"')
  }
  const other = await grant(app, BOB)
  t.equal((await call(app, other.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200, 'another login of the user lives on')
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200)
})

t.test('reusing a middle token of the chain revokes the login too', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, BOB)
  const second = (await refresh(app, login.refresh_token)).json<{ refresh_token: string }>()
  const third = (await refresh(app, second.refresh_token)).json<{ refresh_token: string }>()
  t.same((await refresh(app, second.refresh_token)).json(), REUSED)
  t.same((await refresh(app, third.refresh_token)).json(), INVALID_GRANT)
})

// Concurrent use must not mint two live tokens: the second use is a reuse, which revokes the login.
t.test('two refreshes with one token at once: exactly one succeeds, and the login is revoked', async (t) => {
  const app = buildTestApp(t)
  // Both refreshes wait before their handlers until both have arrived, so they run side by side.
  let arrived = 0
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  app.addHook('preHandler', async (request) => {
    if ((request.body as { grant_type?: string } | undefined)?.grant_type !== 'refresh_token') return
    if (++arrived === 2) release()
    await gate
  })
  const login = await grant(app, BOB)
  const answers = await Promise.all([refresh(app, login.refresh_token), refresh(app, login.refresh_token)])
  t.same(answers.map((res) => res.statusCode).sort(), [200, 400])
  const winner = answers.find((res) => res.statusCode === 200)
  const loser = answers.find((res) => res.statusCode === 400)
  t.same(loser?.json(), REUSED)
  t.same((await refresh(app, winner?.json<{ refresh_token: string }>().refresh_token ?? '')).json(), INVALID_GRANT)
})

// API.md "Tokens": invalid_grant for "an unknown, expired, revoked or reused refresh token".
t.test('a refresh token expires REFRESH_TOKEN_TTL after it was issued', async (t) => {
  let now = Date.now()
  const app = buildTestApp(t, { env: { REFRESH_TOKEN_TTL: '3600' }, now: () => now })
  const login = await grant(app, BOB)
  now += 3599_000
  const res = await refresh(app, login.refresh_token)
  t.equal(res.statusCode, 200, 'a second before expiry')
  const next = res.json<{ refresh_token: string }>().refresh_token
  now += 3600_000
  const expired = await refresh(app, next)
  t.equal(expired.statusCode, 400)
  t.same(expired.json(), INVALID_GRANT)
})

// API.md "Tokens": grant_type "anything else: unsupported_grant_type".
t.test('a grant type other than password and refresh_token answers unsupported_grant_type', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { grant_type: 'client_credentials' })
  t.equal(res.statusCode, 400)
  t.match(res.headers, NO_STORE)
  t.same(res.json(), { error: 'unsupported_grant_type', error_description: 'Grant type "client_credentials" is not supported' })
})

t.test('an unknown refresh token answers invalid_grant', async (t) => {
  const app = buildTestApp(t)
  const res = await refresh(app, 'A'.repeat(43))
  t.equal(res.statusCode, 400)
  t.match(res.headers, NO_STORE)
  t.same(res.json(), INVALID_GRANT)
})

t.test('a refresh without refresh_token answers invalid_request', async (t) => {
  const app = buildTestApp(t)
  const forms: Array<Record<string, string>> = [{ grant_type: 'refresh_token' }, { grant_type: 'refresh_token', refresh_token: '' }]
  for (const form of forms) {
    const res = await tokenRequest(app, form)
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_request', error_description: 'The refresh_token field is required' })
  }
})

// RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted".
t.test('a refresh may ask for a narrower scope, and the next refresh gets the login\'s whole scope again', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, JOHNDOE)
  const narrow = await refresh(app, login.refresh_token, 'items:read')
  t.equal(narrow.statusCode, 200)
  const body = narrow.json<{ access_token: string, refresh_token: string, scope: string }>()
  t.equal(body.scope, 'items:read')
  t.equal(claimsOf(body.access_token).scope, 'items:read')
  const res = await call(app, body.access_token, { method: 'GET', url: '/users' })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="users:read"')
  const again = await refresh(app, body.refresh_token)
  t.equal(again.json<{ scope: string }>().scope, 'items:read items:write users:read users:write')
})

t.test('a refresh asking for a scope the login was not granted answers invalid_scope and keeps the token usable', async (t) => {
  const app = buildTestApp(t)
  const login = await grant(app, { ...JOHNDOE, scope: 'items:read' })
  const wider = await refresh(app, login.refresh_token, 'items:read users:read')
  t.equal(wider.statusCode, 400)
  t.match(wider.headers, NO_STORE)
  t.same(wider.json(), { error: 'invalid_scope', error_description: 'Scope "users:read" was not granted to this login' })
  const unknown = await refresh(app, login.refresh_token, 'items:delete')
  t.same(unknown.json(), { error: 'invalid_scope', error_description: 'Unknown scope "items:delete"' })
  const ok = await refresh(app, login.refresh_token)
  t.equal(ok.statusCode, 200)
  t.equal(ok.json<{ scope: string }>().scope, 'items:read')
})

t.test('expired refresh tokens and logins are pruned at the next password grant', async (t) => {
  let now = Date.now()
  const app = buildTestApp(t, { env: { REFRESH_TOKEN_TTL: '60' }, now: () => now })
  const count = (table: string) => (app.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  const first = await grant(app, BOB)
  await refresh(app, first.refresh_token)
  await grant(app, JOHNDOE)
  t.equal(count('refresh_families'), 2)
  t.equal(count('refresh_tokens'), 3)
  now += 61_000
  await grant(app, BOB)
  t.equal(count('refresh_families'), 1)
  t.equal(count('refresh_tokens'), 1)
})
