import t from 'tap'
import { BOB, JOHNDOE, buildTestApp, call, countCalls, login } from '../helper.js'

// API.md "Authentication and authorization": these take effect immediately, also within the same second.
const REVOKED = 'Bearer error="invalid_token", error_description="The access token was revoked"'

t.test('a disabled user is refused on the very next request', async (t) => {
  const app = buildTestApp(t)
  const admin = await login(app, JOHNDOE)
  const bob = await login(app, BOB)
  t.equal((await call(app, bob, { method: 'GET', url: '/items' })).statusCode, 200)
  t.equal((await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { disabled: true } })).statusCode, 200)
  const res = await call(app, bob, { method: 'GET', url: '/items' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The user is disabled"')
  await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { disabled: false } })
  const again = await call(app, bob, { method: 'GET', url: '/items' })
  t.equal(again.statusCode, 401, 're-enabling does not revive tokens issued before the disabling')
  t.equal(again.headers['www-authenticate'], REVOKED)
})

t.test('a deleted user is refused on the very next request', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  await call(app, await login(app, JOHNDOE), { method: 'DELETE', url: '/users/bob' })
  const res = await call(app, bob, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The user no longer exists"')
})

t.test('a role change revokes earlier tokens, and new tokens use the new roles', async (t) => {
  const app = buildTestApp(t)
  const admin = await login(app, JOHNDOE)
  const bob = await login(app, BOB)
  await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { roles: ['admin'] } })
  const old = await call(app, bob, { method: 'GET', url: '/client-only' })
  t.equal(old.statusCode, 401)
  t.equal(old.headers['www-authenticate'], REVOKED)
  const promoted = await login(app, BOB)
  t.equal((await call(app, promoted, { method: 'GET', url: '/admin-only' })).statusCode, 200)
  t.equal((await call(app, promoted, { method: 'GET', url: '/client-only' })).statusCode, 403)
})

t.test('a password change by an admin revokes earlier tokens', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  await call(app, await login(app, JOHNDOE), { method: 'PATCH', url: '/users/bob', payload: { password: 'another-password' } })
  const res = await call(app, bob, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
})

t.test('changing only email or name keeps tokens valid', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  await call(app, await login(app, JOHNDOE), { method: 'PATCH', url: '/users/bob', payload: { email: 'b@example.com' } })
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).json().email, 'b@example.com')
})

t.test('an authorized request reads no database', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  await call(app, token, { method: 'GET', url: '/admin-only' })
  const reads = countCalls(app.users, 'find')
  const stateLoads = countCalls(app.userState, 'load')
  for (let i = 0; i < 5; i++) t.equal((await call(app, token, { method: 'GET', url: '/admin-only' })).statusCode, 200)
  t.equal(reads.calls + stateLoads.calls, 0)
})

t.test('after a restart-like cold cache, the state is read from the database', async (t) => {
  let clock = Date.now()
  const app = buildTestApp(t, { now: () => clock })
  const bob = await login(app, BOB)
  // Another process (the CLI) disables bob behind this app's back; the cache re-reads after its TTL.
  app.db.prepare('UPDATE users SET disabled = 1, token_generation = token_generation + 1 WHERE username = ?').run('bob')
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 200, 'cached state for up to 5 s')
  clock += 5001
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 401)
})
