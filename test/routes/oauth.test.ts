import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { ALICE, BOB, JOHNDOE, buildTestApp, call, countCalls, login, tokenRequest } from '../helper.js'

function assertNoStore (t: { equal: (a: unknown, b: unknown) => void }, headers: Record<string, unknown>): void {
  t.equal(headers['cache-control'], 'no-store')
  t.equal(headers.pragma, 'no-cache')
}

// API.md "Tokens": success body and headers.
t.test('the password grant answers 200 with a bearer token and no-store headers', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { grant_type: 'password', username: 'johndoe', password: 'secret' })
  t.equal(res.statusCode, 200)
  assertNoStore(t, res.headers)
  const body = res.json()
  t.equal(body.token_type, 'bearer')
  t.equal(body.expires_in, 1800)
  t.equal(body.scope, 'items:read items:write users:read users:write')
  t.type(body.access_token, 'string')
})

t.test('grant_type defaults to password when absent', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { username: 'bob', password: 'secret3' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().scope, 'items:read items:write')
})

// API.md "Tokens": access token header and claims.
t.test('the access token carries the RFC 9068 header and claims', async (t) => {
  const app = buildTestApp(t, { env: { ACCESS_TOKEN_TTL: '600' } })
  const before = Math.floor(Date.now() / 1000)
  const res = await tokenRequest(app, { username: 'bob', password: 'secret3', scope: 'items:read' })
  const { access_token: token, expires_in: expiresIn } = res.json()
  t.same(decodeProtectedHeader(token), { alg: 'HS256', typ: 'at+jwt' })
  const claims = decodeJwt(token)
  // API.md's claims, and RFC 9068 §2.2's client_id (README "Access tokens": always "public").
  t.same(Object.keys(claims).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'roles', 'scope', 'sub'])
  t.equal(claims.client_id, 'public')
  t.equal(claims.iss, 'http://127.0.0.1:3000')
  t.equal(claims.aud, 'http://127.0.0.1:3000')
  t.equal(claims.sub, 'bob')
  t.equal(claims.scope, 'items:read')
  t.same(claims.roles, ['client'])
  t.ok((claims.iat as number) >= before && (claims.iat as number) <= before + 5)
  t.equal((claims.exp as number) - (claims.iat as number), 600)
  t.equal(expiresIn, 600)
  t.type(claims.jti, 'string')
  const again = decodeJwt(await login(app, BOB))
  t.not(again.jti, claims.jti, 'every token has its own jti')
})

t.test('client credentials and a Basic header are ignored (RFC 6749 §3.2)', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { username: 'johndoe', password: 'secret', client_id: 'swagger', client_secret: 'x', extra: '1' },
    { authorization: 'Basic Og==' })
  t.equal(res.statusCode, 200)
  t.equal(decodeJwt(res.json<{ access_token: string }>().access_token).client_id, 'public', 'the client_id sent is not echoed')
})

t.test('a requested scope subset is granted exactly, in policy order', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { username: 'johndoe', password: 'secret', scope: 'users:read  items:read' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().scope, 'items:read users:read')
})

// API.md "Tokens" errors: invalid_grant for a wrong username or password, one message for both.
t.test('a wrong password and an unknown user get the same invalid_grant answer', async (t) => {
  const app = buildTestApp(t)
  const wrongPassword = await tokenRequest(app, { username: 'johndoe', password: 'nope' })
  const unknownUser = await tokenRequest(app, { username: 'nobody', password: 'secret' })
  const wrongCase = await tokenRequest(app, { username: 'JohnDoe', password: 'secret' })
  for (const res of [wrongPassword, unknownUser, wrongCase]) {
    t.equal(res.statusCode, 400)
    assertNoStore(t, res.headers)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'Wrong username or password' })
  }
})

t.test('a disabled user gets invalid_grant only after a correct password', async (t) => {
  const app = buildTestApp(t)
  const right = await tokenRequest(app, { ...ALICE })
  t.equal(right.statusCode, 400)
  t.same(right.json(), { error: 'invalid_grant', error_description: 'This user is disabled' })
  const wrong = await tokenRequest(app, { username: 'alice', password: 'wrong' })
  t.same(wrong.json(), { error: 'invalid_grant', error_description: 'Wrong username or password' })
})

t.test('an unknown user costs an argon2 verification too', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const dummyChecks = countCalls(app.passwords, 'verifyDummy')
  await tokenRequest(app, { username: 'nobody', password: 'whatever' })
  t.equal(dummyChecks.calls, 1)
})

// API.md "Tokens" errors: invalid_request.
t.test('missing, empty, repeated or too long fields answer invalid_request', async (t) => {
  const app = buildTestApp(t)
  const cases: Array<[string, string]> = [
    ['no username', 'password=secret'],
    ['no password', 'username=johndoe'],
    ['empty password', 'username=johndoe&password='],
    ['empty username', 'username=&password=secret'],
    ['repeated username', 'username=johndoe&username=bob&password=secret'],
    ['repeated grant_type', 'grant_type=password&grant_type=password&username=johndoe&password=secret'],
    ['password over 1024', `username=johndoe&password=${'a'.repeat(1025)}`],
    ['username over 256', `username=${'a'.repeat(257)}&password=secret`],
    ['empty body', '']
  ]
  for (const [name, payload] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload
    })
    t.equal(res.statusCode, 400, name)
    assertNoStore(t, res.headers)
    t.equal(res.json().error, 'invalid_request', name)
    t.type(res.json().error_description, 'string', name)
  }
})

// RFC 6749 §5.2: a malformed request is invalid_request, and is refused before any password is hashed.
t.test('a form with a broken percent-escape or invalid UTF-8 answers invalid_request without hashing', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const verifications = countCalls(app.passwords, 'verify')
  for (const payload of ['username=johndoe&password=%ZZ', 'username=johndoe&password=secret%', 'username=%E0%A4%A&password=x',
    'username=johndoe&password=%FF']) {
    const res = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload
    })
    t.equal(res.statusCode, 400, payload)
    assertNoStore(t, res.headers)
    t.same(res.json(), { error: 'invalid_request', error_description: 'The form has an invalid percent-encoding' }, payload)
  }
  t.equal(verifications.calls, 0)
  const encoded = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=john%64oe&password=s%65cret+'
  })
  t.same(encoded.json().error, 'invalid_grant', 'valid escapes decode: "johndoe" with the password "secret "')
  t.equal(verifications.calls, 1)
  t.equal((await tokenRequest(app, { username: 'johndoe', password: 'secret' })).statusCode, 200)
})

t.test('a password of exactly 1024 characters is checked, not refused as too long', async (t) => {
  const app = buildTestApp(t)
  const res = await tokenRequest(app, { username: 'johndoe', password: 'a'.repeat(1024) })
  t.equal(res.json().error, 'invalid_grant')
})

// API.md "Tokens" errors: invalid_scope.
t.test('an unknown scope or one the roles do not allow answers invalid_scope', async (t) => {
  const app = buildTestApp(t)
  const unknown = await tokenRequest(app, { ...BOB, scope: 'items:read admin:everything' })
  t.equal(unknown.statusCode, 400)
  t.same(unknown.json(), { error: 'invalid_scope', error_description: 'Unknown scope "admin:everything"' })
  const notAllowed = await tokenRequest(app, { ...BOB, scope: 'users:read' })
  t.equal(notAllowed.statusCode, 400)
  t.same(notAllowed.json(), { error: 'invalid_scope', error_description: 'Scope "users:read" is not allowed for this user' })
})

// API.md "Tokens" errors: unsupported_grant_type.
t.test('another grant type answers unsupported_grant_type', async (t) => {
  const app = buildTestApp(t)
  for (const grantType of ['client_credentials', 'authorization_code', 'PASSWORD']) {
    const res = await tokenRequest(app, { grant_type: grantType, username: 'johndoe', password: 'secret' })
    t.equal(res.statusCode, 400, grantType)
    t.equal(res.json().error, 'unsupported_grant_type', grantType)
  }
})

// API.md "Tokens": form only, other media types 415.
t.test('a JSON body or another media type answers 415', async (t) => {
  const app = buildTestApp(t)
  const bodies: Array<[string, string]> = [['application/json', '{"username":"johndoe","password":"secret"}'],
    ['text/plain', 'username=johndoe'], ['multipart/form-data; boundary=x', '--x--']]
  for (const [type, payload] of bodies) {
    const res = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': type }, payload })
    t.equal(res.statusCode, 415, type)
    assertNoStore(t, res.headers)
    t.equal(res.json().error, 'invalid_request', type)
  }
})

t.test('a busy password hasher sheds the login with 503 temporarily_unavailable and Retry-After', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const { HasherBusyError } = await import('../../src/passwords.js')
  app.passwords.verify = async () => { throw new HasherBusyError() }
  const res = await tokenRequest(app, { ...JOHNDOE })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  assertNoStore(t, res.headers)
  t.same(res.json(), { error: 'temporarily_unavailable', error_description: 'Too many logins at once; retry shortly' })
})

t.test('an unexpected failure answers 500 server_error without details', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  app.users.find = async () => { throw new Error('disk on fire at /secret/path') }
  const res = await tokenRequest(app, { ...JOHNDOE })
  t.equal(res.statusCode, 500)
  t.equal(res.json().error, 'server_error')
  t.notMatch(res.body, /disk on fire|secret\/path/)
})

t.test('a token from /token opens the protected routes', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  const res = await call(app, token, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 200)
})

t.test('a saturated hasher sheds logins before the body is read or a user is looked up', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const lookups = countCalls(app.users, 'find')
  app.passwords.saturated = () => true
  const res = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'not even a valid form %%%'
  })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  assertNoStore(t, res.headers)
  t.equal(res.json().error, 'temporarily_unavailable')
  t.equal(lookups.calls, 0)
  app.passwords.saturated = () => false
  t.equal((await tokenRequest(app, { ...JOHNDOE })).statusCode, 200)
})
