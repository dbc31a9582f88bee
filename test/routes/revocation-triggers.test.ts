import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, JOHNDOE, buildTestApp, call } from '../helper.js'
import { grant, refresh, type Tokens } from '../oauth-helpers.js'

async function assertLoginDead (t: Test, app: FastifyInstance, tokens: Tokens, description: RegExp): Promise<void> {
  const res = await refresh(app, tokens.refresh_token)
  t.equal(res.statusCode, 400, 'refresh token refused')
  t.equal(res.json().error, 'invalid_grant')
  t.match(res.json().error_description, description)
  const me = await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })
  t.equal(me.statusCode, 401, 'access token refused')
  t.match(me.headers['www-authenticate'], /^Bearer error="invalid_token"/)
}

async function admin (app: FastifyInstance, method: 'PATCH' | 'DELETE' | 'POST', url: string, payload?: Record<string, unknown>) {
  const { access_token: token } = await grant(app, JOHNDOE)
  const res = await call(app, token, { method, url, ...(payload === undefined ? {} : { payload }) })
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res
}

const INVALID = /^The refresh token is invalid, expired or revoked$/

// API.md "Routes": PUT /users/me/password "revokes all the user's tokens".
t.test('a password change revokes the user\'s refresh tokens and access tokens', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  const res = await call(app, tokens.access_token, {
    method: 'PUT', url: '/users/me/password', payload: { current_password: BOB.password, new_password: 'a new password' }
  })
  t.equal(res.statusCode, 204)
  await assertLoginDead(t, app, tokens, INVALID)
  const again = await grant(app, { username: 'bob', password: 'a new password' })
  t.equal((await refresh(app, again.refresh_token)).statusCode, 200, 'a login after the change works')
})

// API.md "Authentication": no token issued before a user was disabled, deleted, had its roles or password changed is accepted.
t.test('an admin setting a new password revokes the user\'s logins', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  await admin(app, 'PATCH', '/users/bob', { password: 'another password' })
  await assertLoginDead(t, app, tokens, INVALID)
})

t.test('disabling a user revokes the user\'s logins, and enabling them again does not bring them back', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  const spare = await grant(app, BOB)
  await admin(app, 'PATCH', '/users/bob', { disabled: true })
  await assertLoginDead(t, app, tokens, INVALID)
  await admin(app, 'PATCH', '/users/bob', { disabled: false })
  await assertLoginDead(t, app, spare, INVALID)
})

t.test('a role change revokes the user\'s logins', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  await admin(app, 'PATCH', '/users/bob', { roles: ['admin'] })
  await assertLoginDead(t, app, tokens, INVALID)
  const after = await grant(app, BOB)
  t.equal(after.scope, 'items:read items:write users:read users:write', 'the new roles take effect at the next login')
})

t.test('setting the roles or the disabled flag a user already has revokes nothing', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  await admin(app, 'PATCH', '/users/bob', { roles: ['client'], disabled: false })
  t.equal((await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200)
})

// README "Choices": roles are a set, answered in the policy's order; naming them in another order is no change.
t.test('naming a user\'s roles in another order revokes nothing', async (t) => {
  const app = buildTestApp(t)
  const before = await admin(app, 'PATCH', '/users/bob', { roles: ['client', 'admin'] })
  t.same(before.json().roles, ['admin', 'client'])
  const tokens = await grant(app, BOB)
  const res = await admin(app, 'PATCH', '/users/bob', { roles: ['admin', 'client'] })
  t.same(res.json().roles, ['admin', 'client'])
  t.equal((await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200)
})

t.test('changing email or full name revokes nothing', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  await admin(app, 'PATCH', '/users/bob', { email: 'robert@example.com', full_name: 'Robert' })
  t.equal((await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200)
})

t.test('deleting a user revokes the user\'s logins, also once the name is taken again', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  await admin(app, 'DELETE', '/users/bob')
  await assertLoginDead(t, app, tokens, INVALID)
  await admin(app, 'POST', '/users', { username: 'bob', password: 'the new bob', roles: ['client'] })
  await assertLoginDead(t, app, tokens, INVALID)
})

// API.md "Authentication and authorization", last paragraph: "A token issued to a deleted user never authorizes
// anything again, also after a new user is created under the same name". The issue's reproduction: with refresh
// tokens shorter-lived than access tokens, the login is pruned before the delete could revoke it.
t.test('a deleted user\'s access token stays refused under a re-created name after its login was pruned', async (t) => {
  // Near the real time: the JWT library checks exp against the system clock as well.
  let clock = Date.now()
  const app = buildTestApp(t, { env: { REFRESH_TOKEN_TTL: '2', ACCESS_TOKEN_TTL: '600' }, now: () => clock })
  const tokens = await grant(app, BOB)
  clock += 3000
  // The admin's password grant prunes bob's expired login: the delete has nothing of bob's left to revoke.
  await admin(app, 'DELETE', '/users/bob')
  t.same(app.db.prepare('SELECT id FROM refresh_families WHERE username = ?').all('bob'), [], 'bob\'s login was pruned')
  await admin(app, 'POST', '/users', { username: 'bob', password: 'the new bob', roles: ['admin'] })
  for (const url of ['/admin-only', '/users/me']) {
    const res = await call(app, tokens.access_token, { method: 'GET', url })
    t.equal(res.statusCode, 401, url)
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token was revoked"')
  }
  t.same((await refresh(app, tokens.refresh_token)).json(), {
    error: 'invalid_grant',
    error_description: 'The refresh token is invalid, expired or revoked'
  })
})

// plugins/auth.ts compares the token's generation with the user's: here nothing else can refuse the token, since
// the user's roles and disabled flag are unchanged and its login was pruned before the change could revoke it.
t.test('an admin\'s new password for a user revokes an access token whose login was already pruned', async (t) => {
  let clock = Date.now()
  const app = buildTestApp(t, { env: { REFRESH_TOKEN_TTL: '2', ACCESS_TOKEN_TTL: '600' }, now: () => clock })
  const tokens = await grant(app, BOB)
  clock += 3000
  await admin(app, 'PATCH', '/users/bob', { password: 'another password' })
  t.same(app.db.prepare('SELECT id FROM refresh_families WHERE username = ?').all('bob'), [], 'bob\'s login was pruned')
  const res = await call(app, tokens.access_token, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token was revoked"')
})

t.test('a refresh token of a user deleted behind the app\'s back is refused once the name is created again', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  // Another process deleted bob and left his login unrevoked (as the command line once did).
  app.db.prepare('DELETE FROM users WHERE username = ?').run('bob')
  await admin(app, 'POST', '/users', { username: 'bob', password: 'the new bob', roles: ['admin'] })
  const res = await refresh(app, tokens.refresh_token)
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' })
  const me = await call(app, tokens.access_token, { method: 'GET', url: '/admin-only' })
  t.equal(me.statusCode, 401)
  t.equal(me.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token was revoked"')
})

// The refresh grant checks the user again, also for changes this process did not make (another process, the CLI).
t.test('a refresh for a user disabled behind the app\'s back answers invalid_grant and revokes the login', async (t) => {
  const app = buildTestApp(t)
  const tokens = await grant(app, BOB)
  app.db.prepare('UPDATE users SET disabled = 1 WHERE username = ?').run('bob')
  const res = await refresh(app, tokens.refresh_token)
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_grant', error_description: 'This user is disabled' })
  app.db.prepare('UPDATE users SET disabled = 0 WHERE username = ?').run('bob')
  t.same((await refresh(app, tokens.refresh_token)).json().error_description, 'The refresh token is invalid, expired or revoked')
})

t.test('a refresh for a user of another token generation or deleted behind the app\'s back answers invalid_grant', async (t) => {
  const app = buildTestApp(t)
  const bob = await grant(app, BOB)
  app.db.prepare('UPDATE users SET token_generation = token_generation + 1 WHERE username = ?').run('bob')
  t.same((await refresh(app, bob.refresh_token)).json().error, 'invalid_grant')
  const john = await grant(app, JOHNDOE)
  app.db.prepare('DELETE FROM users WHERE username = ?').run('johndoe')
  t.same((await refresh(app, john.refresh_token)).json().error, 'invalid_grant')
})
