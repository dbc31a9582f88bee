import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { HasherBusyError } from '../../src/passwords.js'
import { BOB, JOHNDOE, buildTestApp, call, login, tokenRequest } from '../helper.js'

const CAROL = { username: 'carol', password: 'carol-password', roles: ['client'], email: 'carol@example.com', full_name: 'Carol' }

async function admin (app: FastifyInstance): Promise<string> {
  return await login(app, JOHNDOE)
}

// API.md "Routes": GET /users (roles admin, scopes users:read).
t.test('GET /users lists users with paging and no secrets', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await admin(app), { method: 'GET', url: '/users?limit=2' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().total, 3)
  t.same(res.json().users, [
    { username: 'alice', email: 'alicechains@example.com', full_name: 'Alice Chains', disabled: true, roles: ['client'] },
    { username: 'bob', email: 'bob@example.com', full_name: 'Bob Builder', disabled: false, roles: ['client'] }
  ])
  const page = await call(app, await admin(app), { method: 'GET', url: '/users?offset=2' })
  t.same(page.json().users.map((u: { username: string }) => u.username), ['johndoe'])
})

t.test('GET /users refuses a client (no users:read scope) and an admin token without users:read', async (t) => {
  const app = buildTestApp(t)
  const bob = await call(app, await login(app, BOB), { method: 'GET', url: '/users' })
  t.equal(bob.statusCode, 403)
  t.equal(bob.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="users:read"')
  const narrow = await call(app, await login(app, { ...JOHNDOE, scope: 'users:write' }), { method: 'GET', url: '/users' })
  t.equal(narrow.statusCode, 403)
})

// API.md "Routes": POST /users → 201, 409 when taken.
t.test('POST /users creates a user who can log in', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await admin(app), { method: 'POST', url: '/users', payload: CAROL })
  t.equal(res.statusCode, 201)
  t.same(res.json(), { username: 'carol', email: 'carol@example.com', full_name: 'Carol', disabled: false, roles: ['client'] })
  const token = await login(app, CAROL)
  t.equal((await call(app, token, { method: 'GET', url: '/client-only' })).statusCode, 200)
})

t.test('POST /users answers 409 for a taken username', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await admin(app), { method: 'POST', url: '/users', payload: { ...CAROL, username: 'bob' } })
  t.equal(res.statusCode, 409)
  t.same(res.json(), { statusCode: 409, error: 'Conflict', message: 'Username "bob" is taken' })
})

t.test('POST /users validates username, password, roles, email and unknown fields', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  const cases: Array<[string, object]> = [
    ['upper case username', { ...CAROL, username: 'Carol' }],
    ['short username', { ...CAROL, username: 'ab' }],
    ['long username', { ...CAROL, username: 'a'.repeat(33) }],
    ['username with space', { ...CAROL, username: 'car ol' }],
    ['username starting with a dot', { ...CAROL, username: '.carol' }],
    ['short password', { ...CAROL, password: 'short' }],
    ['long password', { ...CAROL, password: 'x'.repeat(1025) }],
    ['unknown role', { ...CAROL, roles: ['root'] }],
    ['roles not an array', { ...CAROL, roles: 'admin' }],
    ['bad email', { ...CAROL, email: 'not-an-email' }],
    ['unknown field', { ...CAROL, password_hash: '$argon2id$v=19$x' }],
    ['no roles', { username: 'carol', password: 'carol-password' }]
  ]
  for (const [name, payload] of cases) {
    const res = await call(app, token, { method: 'POST', url: '/users', payload })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error, 'Bad Request', name)
  }
  t.equal((await call(app, token, {
    method: 'POST',
    url: '/users',
    payload: {
      username: 'a.b_c-9',
      password: '12345678',
      roles: []
    }
  })).statusCode, 201)
})

// API.md "Tokens": the hashing queue is bounded; past it, 503 with Retry-After rather than waiting without bound.
t.test('POST /users answers 503 with Retry-After when password hashing is saturated, and creates nobody', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  app.passwords.hash = async () => { throw new HasherBusyError() }
  const res = await call(app, token, { method: 'POST', url: '/users', payload: CAROL })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.same(res.json(), { statusCode: 503, error: 'Service Unavailable', message: 'Too many password operations at once; retry shortly' })
  t.equal((await call(app, token, { method: 'GET', url: '/users/carol' })).statusCode, 404)
})

t.test('POST /users needs the admin role even with users:write in a token', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  // Demote johndoe: his token still names users:write, but his role is gone.
  await app.users.update('johndoe', { roles: ['client'] })
  const fresh = await login(app, { ...JOHNDOE, scope: 'items:read' })
  const res = await call(app, fresh, { method: 'POST', url: '/users', payload: CAROL })
  t.equal(res.statusCode, 403)
  t.equal((await call(app, token, { method: 'POST', url: '/users', payload: CAROL })).statusCode, 401,
    'the token from before the role change is revoked')
})

// API.md "Routes": PATCH /users/:username → 200 the user.
t.test('PATCH /users/:username changes the given fields only', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  const res = await call(app, token, { method: 'PATCH', url: '/users/bob', payload: { email: 'robert@example.com', full_name: null } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { username: 'bob', email: 'robert@example.com', full_name: null, disabled: false, roles: ['client'] })
  t.equal((await tokenRequest(app, BOB)).statusCode, 200, 'password unchanged')
})

t.test('PATCH /users/:username sets a new password', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await admin(app), { method: 'PATCH', url: '/users/bob', payload: { password: 'brand-new-pass' } })
  t.equal(res.statusCode, 200)
  t.equal((await tokenRequest(app, BOB)).statusCode, 400)
  t.equal((await tokenRequest(app, { username: 'bob', password: 'brand-new-pass' })).statusCode, 200)
})

t.test('PATCH /users/:username answers 404 for a missing user and 400 for bad bodies', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  const missing = await call(app, token, { method: 'PATCH', url: '/users/nobody', payload: { disabled: true } })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { statusCode: 404, error: 'Not Found', message: 'User not found' })
  for (const payload of [{}, { username: 'renamed' }, { roles: ['root'] }, { password: 'short' }]) {
    t.equal((await call(app, token, { method: 'PATCH', url: '/users/bob', payload })).statusCode, 400, JSON.stringify(payload))
  }
})

// API.md "Routes": DELETE /users/:username → 204.
t.test('DELETE /users/:username deletes the user and their items', async (t) => {
  const app = buildTestApp(t)
  const token = await admin(app)
  const bob = await login(app, BOB)
  await call(app, bob, { method: 'POST', url: '/items', payload: { name: 'orphan?' } })
  const res = await call(app, token, { method: 'DELETE', url: '/users/bob' })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await call(app, token, { method: 'GET', url: '/items' })).json().total, 0)
  t.equal((await call(app, token, { method: 'DELETE', url: '/users/bob' })).statusCode, 404)
  t.equal((await tokenRequest(app, BOB)).json().error, 'invalid_grant')
})
