import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, buildTestApp, call, countCalls, login, tokenRequest } from '../helper.js'

const THROTTLED = { LOGIN_MAX_FAILURES: '3', LOGIN_WINDOW: '900' }

async function changePassword (app: FastifyInstance, token: string, current: string, remoteAddress = '127.0.0.1') {
  return await call(app, token, {
    method: 'PUT', url: '/users/me/password', remoteAddress, payload: { current_password: current, new_password: 'a-new-password' }
  })
}

// API.md "Routes", PUT /users/me/password: a wrong current_password counts as a failed login (429 past LOGIN_MAX_FAILURES, as at /token).
t.test('past LOGIN_MAX_FAILURES wrong current passwords, even the right one gets 429 with Retry-After', async (t) => {
  const now = 1_800_000_000_000
  const app = buildTestApp(t, { env: THROTTLED, now: () => now })
  const token = await login(app, BOB)
  for (let i = 0; i < 3; i++) {
    const res = await changePassword(app, token, `wrong-${i}`)
    t.equal(res.statusCode, 400)
    t.same(res.json(), { statusCode: 400, error: 'Bad Request', message: 'The current password is wrong' })
  }
  const res = await changePassword(app, token, 'secret3')
  t.equal(res.statusCode, 429)
  t.equal(res.headers['retry-after'], '900')
  t.same(res.json(), {
    statusCode: 429,
    error: 'Too Many Requests',
    message: 'Too many failed logins for this username from your address; retry in 900 s'
  })
  t.equal((await call(app, token, { method: 'GET', url: '/users/me' })).statusCode, 200,
    'the password was not changed: the token still works')
})

t.test('wrong current passwords and wrong logins fill one counter per username and address', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  const token = await login(app, BOB)
  await changePassword(app, token, 'wrong')
  await changePassword(app, token, 'wrong')
  t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 400, 'the third failure, at /token')
  const refused = await tokenRequest(app, BOB)
  t.equal(refused.statusCode, 429, '/token is throttled by the wrong current passwords')
  t.equal(refused.json().error, 'temporarily_unavailable')
  t.equal((await changePassword(app, token, 'secret3')).statusCode, 429)
  t.equal((await changePassword(app, token, 'secret3', '10.0.0.2')).statusCode, 204, 'another address has its own count')
})

t.test('a throttled password change is refused before any hashing', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  const token = await login(app, BOB)
  const hashings = countCalls(app.passwords, 'verify', 'verifyDummy', 'hash')
  for (let i = 0; i < 3; i++) await changePassword(app, token, 'wrong')
  t.equal(hashings.calls, 3)
  for (let i = 0; i < 3; i++) t.equal((await changePassword(app, token, 'wrong')).statusCode, 429)
  t.equal(hashings.calls, 3)
})

t.test('a right current password is not a failure', async (t) => {
  const app = buildTestApp(t, { env: THROTTLED })
  let password = 'secret3'
  for (let i = 0; i < 4; i++) {
    const token = await login(app, { username: 'bob', password })
    const res = await call(app, token, {
      method: 'PUT',
      url: '/users/me/password',
      payload: {
        current_password: password,
        new_password: `password-${i}`
      }
    })
    t.equal(res.statusCode, 204)
    password = `password-${i}`
  }
})
