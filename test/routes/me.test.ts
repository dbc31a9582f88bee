import t from 'tap'
import { BOB, JOHNDOE, buildTestApp, call, login, tokenRequest } from '../helper.js'

// API.md "Routes": GET /users/me.
t.test('GET /users/me answers the caller without secrets', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await login(app, JOHNDOE), { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false, roles: ['admin'] })
})

t.test('GET /users/me works with a token of any scope', async (t) => {
  const app = buildTestApp(t)
  const res = await call(app, await login(app, { ...BOB, scope: 'items:write' }), { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().username, 'bob')
})

// API.md "Routes": PUT /users/me/password → 204; revokes all the user's tokens.
t.test('PUT /users/me/password changes the password and revokes every earlier token', async (t) => {
  const app = buildTestApp(t)
  const first = await login(app, BOB)
  const second = await login(app, BOB)
  const res = await call(app, first, {
    method: 'PUT',
    url: '/users/me/password',
    payload: {
      current_password: 'secret3',
      new_password: 'a-new-password'
    }
  })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  for (const token of [first, second]) {
    const after = await call(app, token, { method: 'GET', url: '/users/me' })
    t.equal(after.statusCode, 401)
    t.equal(after.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token was revoked"')
  }
  t.equal((await tokenRequest(app, BOB)).statusCode, 400, 'the old password no longer works')
  const fresh = await login(app, { username: 'bob', password: 'a-new-password' })
  t.equal((await call(app, fresh, { method: 'GET', url: '/users/me' })).statusCode, 200, 'a token issued after the change works at once')
})

t.test('PUT /users/me/password refuses a wrong current password with 400 and keeps tokens', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'PUT',
    url: '/users/me/password',
    payload: {
      current_password: 'wrong',
      new_password: 'a-new-password'
    }
  })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { statusCode: 400, error: 'Bad Request', message: 'The current password is wrong' })
  t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200)
})

t.test('PUT /users/me/password validates the new password and refuses unknown fields', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const cases: Array<[string, object]> = [
    ['too short', { current_password: 'secret3', new_password: 'short' }],
    ['too long', { current_password: 'secret3', new_password: 'x'.repeat(1025) }],
    ['missing current', { new_password: 'long-enough' }],
    ['unknown field', { current_password: 'secret3', new_password: 'long-enough', admin: true }]
  ]
  for (const [name, payload] of cases) {
    const res = await call(app, token, { method: 'PUT', url: '/users/me/password', payload })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error, 'Bad Request', name)
  }
})
