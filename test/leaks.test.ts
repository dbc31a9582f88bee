import t from 'tap'
import { ALICE, BOB, JOHNDOE, assertNoLeak, buildTestApp, call, login, tokenRequest } from './helper.js'

// API.md "Authentication and authorization": no response ever contains a password hash,
// a refresh token's hash or a stack trace. buildTestApp checks every body of the suite with
// assertNoLeak; this test makes sure the check itself bites, then tours every route.
t.test('the leak check refuses hashes, the secret and stack traces', async (t) => {
  t.throws(() => assertNoLeak('{"h":"$argon2id$v=19$m=19456,t=2,p=1$abc"}'))
  t.throws(() => assertNoLeak('{"h":"$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW"}'))
  t.throws(() => assertNoLeak('Error: boom\n    at Object.<anonymous> (file.js:1:1)'))
  t.throws(() => assertNoLeak('{"password_hash":"x"}'))
  t.doesNotThrow(() => assertNoLeak('{"username":"bob"}'))
})

t.test('a tour of every route, allowed and refused, leaks nothing', async (t) => {
  const app = buildTestApp(t)
  const admin = await login(app, JOHNDOE)
  const bob = await login(app, BOB)
  const requests: Array<[string | undefined, string, string, object?]> = [
    [undefined, 'GET', '/health'], [undefined, 'GET', '/ready'], [undefined, 'GET', '/openapi.json'],
    [admin, 'GET', '/users/me'], [admin, 'GET', '/users'], [bob, 'GET', '/users'],
    [admin, 'POST', '/users', { username: 'carol', password: 'carol-password', roles: ['client'] }],
    [admin, 'POST', '/users', { username: 'carol', password: 'carol-password', roles: ['client'] }],
    [admin, 'PATCH', '/users/carol', { password: 'another-password', disabled: true }],
    [admin, 'PATCH', '/users/carol', { password_hash: 'x' }],
    [bob, 'POST', '/items', { name: 'thing' }], [bob, 'GET', '/items'], [bob, 'GET', '/items/1'], [admin, 'GET', '/items/1'],
    [bob, 'DELETE', '/items/1'], [admin, 'GET', '/admin-only'], [bob, 'GET', '/admin-only'], [bob, 'GET', '/client-only'],
    [bob, 'PUT', '/users/me/password', { current_password: 'nope', new_password: 'whatever-long' }],
    [admin, 'DELETE', '/users/carol'], ['garbage', 'GET', '/users/me'], [undefined, 'GET', '/nowhere']
  ]
  for (const [token, method, url, payload] of requests) {
    const res = await call(app, token, { method: method as 'GET', url, payload })
    t.ok(res.statusCode < 500, `${method} ${url} answered ${res.statusCode}`)
    t.doesNotThrow(() => assertNoLeak(res.body))
  }
  for (const form of [JOHNDOE, ALICE, { username: 'nobody', password: 'x' }, { grant_type: 'x' }, {}]) {
    const res = await tokenRequest(app, form)
    t.doesNotThrow(() => assertNoLeak(res.body))
  }
})
