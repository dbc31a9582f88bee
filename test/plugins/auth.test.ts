import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import { decodeJwt } from 'jose'
import { BOB, JOHNDOE, buildTestApp, call, login, TEST_SECRET } from '../helper.js'

const ISSUER = 'http://127.0.0.1:3000'
const now = () => Math.floor(Date.now() / 1000)

/** Claims as our server writes them, for tokens the tests forge. */
function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: ISSUER,
    sub: 'johndoe',
    iat: now(),
    exp: now() + 600,
    jti: '0.testlogin.abc',
    scope: 'items:read items:write users:read users:write',
    roles: ['admin'],
    ...overrides
  }
}

function forge (payload: Record<string, unknown>, { key = TEST_SECRET, algorithm = 'HS256', typ = 'at+jwt' }: {
  key?: string,
  algorithm?: string,
  typ?: string
} = {}): string {
  const sign = createSigner({ key, algorithm: algorithm as 'HS256', header: { alg: algorithm as 'HS256', typ } })
  return sign(payload)
}

/** A jti this server accepts for the user now: users start at a random token generation. */
function liveJti (app: FastifyInstance, username: string): string {
  const row = app.db.prepare('SELECT token_generation FROM users WHERE username = ?').get(username) as { token_generation: number }
  return `${row.token_generation}.testlogin.abc`
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

// API.md "Authentication and authorization", row 1: no credentials → 401 `Bearer`.
t.test('a protected route without Authorization answers 401 with a bare Bearer challenge', async (t) => {
  const app = buildTestApp(t)
  for (const authorization of [undefined, 'Bearer', 'Bearer    ', 'Basic am9obmRvZTpzZWNyZXQ=', 'Digest x']) {
    const res = await app.inject({ method: 'GET', url: '/users/me', headers: authorization === undefined ? {} : { authorization } })
    t.equal(res.statusCode, 401, String(authorization))
    t.equal(res.headers['www-authenticate'], 'Bearer', String(authorization))
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', message: 'Authentication required' })
  }
})

// RFC 6750 §2.1: a token already verified is accepted again, but only as the whole credential.
t.test('a header that merely contains a token verified before is still parsed and refused', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  for (let i = 0; i < 2; i++) t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200, `use ${i + 1}`)
  for (const authorization of [`Bearer ${token} extra`, `Bearer ${token}.x`, `Bearer ${token}\u0000`]) {
    const res = await app.inject({ method: 'GET', url: '/users/me', headers: { authorization } })
    t.equal(res.statusCode, 401, JSON.stringify(authorization.slice(-6)))
    t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token"/)
  }
  t.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${token}  ` } })).statusCode, 200,
    'trailing spaces, as before')
})

t.test('the Bearer scheme is case-insensitive (RFC 6750 §2.1)', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    const res = await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `${scheme} ${token}` } })
    t.equal(res.statusCode, 200, scheme)
  }
})

// API.md row 2: malformed, bad signature, wrong alg/typ/iss/aud, expired, missing claims → 401 invalid_token.
t.test('bad tokens answer 401 invalid_token with a description', async (t) => {
  const app = buildTestApp(t)
  const good = await login(app, JOHNDOE)
  const [header, payload] = good.split('.') as [string, string, string]
  const claimsAsAdmin = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['admin'], sub: 'bob' }
  const tampered = `${header}.${b64(claimsAsAdmin)}.${good.split('.')[2] ?? ''}`
  const cases: Record<string, string> = {
    garbage: 'not-a-jwt',
    'two parts': 'abc.def',
    'Bearer with two tokens': `${good} ${good}`,
    'tampered payload': tampered,
    'wrong secret': forge(claims(), { key: 'another-secret-another-secret-another' }),
    'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`,
    'alg NONE': `${b64({ alg: 'NONE', typ: 'at+jwt' })}.${b64(claims())}.`,
    'alg nOnE': `${b64({ alg: 'nOnE', typ: 'at+jwt' })}.${b64(claims())}.`,
    'alg HS512': forge(claims(), { algorithm: 'HS512' }),
    'alg RS256 (HS/RS confusion)': forge(claims(), {
      algorithm: 'RS256',
      key: generateKeyPairSync('rsa',
        { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    }),
    'alg EdDSA': forge(claims(), {
      algorithm: 'EdDSA',
      key: generateKeyPairSync('ed25519').privateKey.export({
        type: 'pkcs8',
        format: 'pem'
      }).toString()
    }),
    'typ JWT': forge(claims(), { typ: 'JWT' }),
    'wrong iss': forge(claims({ iss: 'https://evil.example' })),
    'wrong aud': forge(claims({ aud: 'https://other.example' })),
    'expired beyond skew': forge(claims({ iat: now() - 3600, exp: now() - 31 })),
    'nbf in the future beyond skew': forge(claims({ nbf: now() + 60 })),
    'iat in the future beyond skew': forge(claims({ iat: now() + 60 })),
    'no exp': forge(claims({ exp: undefined })),
    'no sub': forge(claims({ sub: undefined })),
    'no iss': forge(claims({ iss: undefined })),
    'no aud': forge(claims({ aud: undefined })),
    'no jti': forge(claims({ jti: undefined })),
    'jti of another format': forge(claims({ jti: 'random' })),
    'scope not a string': forge(claims({ scope: ['items:read'] })),
    'sub not a string': forge(claims({ sub: 42 })),
    'empty sub': forge(claims({ sub: '' }))
  }
  for (const [name, token] of Object.entries(cases)) {
    const res = await call(app, token, { method: 'GET', url: '/users/me' })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token", error_description="[^"\\]+"$/, name)
    t.equal(res.json().error, 'Unauthorized', name)
  }
})

// API.md row 2 (bad signature): a token verified before is looked up by the end of its signature; a
// token that ends the same but carries another payload is still verified, and refused.
t.test('a kept token\'s signature on another payload is refused, and the kept token still works', async (t) => {
  const app = buildTestApp(t)
  const good = await login(app, JOHNDOE)
  const [header, payload, signature] = good.split('.') as [string, string, string]
  const tampered = `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'bob' })}.${signature}`
  t.equal((await call(app, good, { method: 'GET', url: '/users/me' })).json().username, 'johndoe')
  const refused = await call(app, tampered, { method: 'GET', url: '/users/me' })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token signature is invalid"')
  const again = await call(app, good, { method: 'GET', url: '/users/me' })
  t.equal(again.statusCode, 200)
  t.equal(again.json().username, 'johndoe')
})

t.test('a token within the 30 s clock skew is accepted', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const jti = liveJti(app, 'johndoe')
  const expiredRecently = forge(claims({ iat: now() - 600, exp: now() - 20, jti }))
  t.equal((await call(app, expiredRecently, { method: 'GET', url: '/users/me' })).statusCode, 200)
  const issuedSlightlyAhead = forge(claims({ iat: now() + 20, nbf: now() + 20, jti }))
  t.equal((await call(app, issuedSlightlyAhead, { method: 'GET', url: '/users/me' })).statusCode, 200)
})

// API.md row 2 (expired): a token already accepted, and so kept verified, is still refused once the clock passes its exp.
t.test('an accepted token is refused once the app clock passes exp plus the skew', async (t) => {
  let clock = Date.now()
  const app = buildTestApp(t, { now: () => clock, env: { ACCESS_TOKEN_TTL: '600' } })
  const token = await login(app, JOHNDOE)
  t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  clock += 630_000
  t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200, 'within the 30 s skew')
  clock += 1_000
  const res = await call(app, token, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token expired"')
})

t.test('a token signed for another issuer configuration is refused', async (t) => {
  const app = buildTestApp(t, { env: { JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'https://api.example' } })
  const token = await login(app, JOHNDOE)
  const payload = decodeJwt(token)
  t.equal(payload.iss, 'https://auth.example')
  t.equal(payload.aud, 'https://api.example')
  t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  const res = await call(app, forge(claims()), { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /invalid_token/)
})

// API.md row 4: token lacks a required scope → 403 insufficient_scope with every required scope.
t.test('a token without the route scope answers 403 insufficient_scope naming the scopes', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, { ...BOB, scope: 'items:write' })
  const res = await call(app, token, { method: 'GET', url: '/items' })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items:read"')
  t.same(res.json(), { statusCode: 403, error: 'Forbidden', message: 'The access token lacks a required scope' })
})

t.test('scope check lists all of a route\'s scopes', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, { ...JOHNDOE, scope: 'items:read' })
  const res = await call(app, token, { method: 'GET', url: '/users' })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="users:read"')
})

// API.md row 5: user lacks every required role → 403 without a challenge.
t.test('a user without the route role answers 403 without WWW-Authenticate', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], undefined)
  t.same(res.json(), { statusCode: 403, error: 'Forbidden', message: 'Your roles do not allow this' })
})

t.test('roles come from the user, not from the token\'s roles claim', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const bobClaimingAdmin = forge(claims({ sub: 'bob', roles: ['admin'], scope: 'items:read', jti: liveJti(app, 'bob') }))
  const res = await call(app, bobClaimingAdmin, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 403)
})

t.test('a path that matches no route answers 404 with or without a token', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  for (const auth of [undefined, token, 'garbage']) {
    const res = await call(app, auth, { method: 'GET', url: '/no/such/route' })
    t.equal(res.statusCode, 404)
    t.equal(res.json().error, 'Not Found')
  }
})

t.test('a route naming an unknown scope stops the start, naming the route', async (t) => {
  const app = buildTestApp(t)
  app.register(async (scoped) => {
    scoped.get('/x', { config: { scopes: ['nope' as 'items:read'] } }, async () => ({}))
  })
  await t.rejects(async () => { await app.ready() }, /GET,HEAD \/x: unknown scope "nope"|GET \/x: unknown scope "nope"/)
})

t.test('a route naming an unknown role stops the start, naming the route', async (t) => {
  const app = buildTestApp(t)
  app.register(async (scoped) => {
    scoped.post('/y', { config: { roles: ['root' as 'admin'] } }, async () => ({}))
  })
  await t.rejects(async () => { await app.ready() }, /POST \/y: unknown role "root"/)
})

t.test('a route without config is protected by default', async (t) => {
  const app = buildTestApp(t)
  app.register(async (scoped) => {
    scoped.get('/plain', async () => ({ ok: true }))
  })
  const res = await app.inject({ method: 'GET', url: '/plain' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
})
