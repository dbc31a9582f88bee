import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import Database from 'better-sqlite3'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { main } from '../../src/cli/main.js'
import { BOB, JOHNDOE, TEST_ENV, buildTestApp, call, countCalls, login } from '../helper.js'

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

// API.md "Several instances (PostgreSQL)", last point: without DATABASE_URL, changes made by the
// command line to the database file of a running server take effect at once.
t.test('a user disabled by the CLI on the running server\'s file is refused on the next request', async (t) => {
  const path = join(t.testdir(), 'app.db')
  const app = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const bob = await login(app, BOB)
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 200, 'bob\'s state is cached now')
  const output = { text: '', write (chunk: string) { this.text += chunk } }
  const code = await main(['user', 'disable', 'bob'], {
    env: { ...TEST_ENV, DATABASE_PATH: path },
    stdin: new PassThrough(),
    stdout: output,
    stderr: output,
    hashCost: 'test'
  })
  t.equal(code, 0, output.text)
  const res = await call(app, bob, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token"/)
})

t.test('a change by another connection reaches the user-state cache, and then costs one read per user', async (t) => {
  const path = join(t.testdir(), 'app.db')
  const app = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const [admin, bob] = [await login(app, JOHNDOE), await login(app, BOB)]
  await call(app, admin, { method: 'GET', url: '/admin-only' })
  await call(app, bob, { method: 'GET', url: '/users/me' })
  const loads = countCalls(app.userState, 'load')
  const other = new Database(path)
  t.teardown(() => other.close())
  other.prepare("UPDATE users SET roles = '[\"client\"]', token_generation = token_generation + 1 WHERE username = 'johndoe'").run()
  const res = await call(app, admin, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 401, 'the old token of a user whose roles changed')
  t.equal(res.headers['www-authenticate'], REVOKED)
  for (let i = 0; i < 3; i++) t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 200)
  t.equal(loads.calls, 2, 'each user read again once, then served from memory')
})

// plugins/db.ts looks for changes once per turn of the event loop, after every request read in that
// turn. app.inject with a callback dispatches at once (without one, on a later tick), so both requests
// below are read in one turn, on either side of another connection's commit: a look made at the turn's
// first request would let the second through.
t.test('a commit by another connection between two requests read in one turn is seen by both', async (t) => {
  const path = join(t.testdir(), 'app.db')
  const app = buildTestApp(t, { env: { DATABASE_PATH: path } })
  const bob = await login(app, BOB)
  t.equal((await call(app, bob, { method: 'GET', url: '/users/me' })).statusCode, 200, 'bob\'s state is cached now')
  const other = new Database(path)
  t.teardown(() => other.close())
  const dispatchNow = async (): Promise<LightMyRequestResponse> => await new Promise((resolve, reject) => {
    app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${bob}` } }, (err, res) => {
      if (res === undefined) reject(err)
      else resolve(res)
    })
  })
  const readBefore = dispatchNow()
  other.prepare("UPDATE users SET disabled = 1 WHERE username = 'bob'").run()
  const readAfter = dispatchNow()
  for (const res of [await readBefore, await readAfter]) {
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The user is disabled"')
  }
})
