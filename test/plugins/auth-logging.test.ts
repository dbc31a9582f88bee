import t from 'tap'
import { createSigner } from 'fast-jwt'
import { BOB, JOHNDOE, TEST_SECRET, call, login, tokenRequest } from '../helper.js'
import { buildLoggedApp, type LogLine } from '../logs.js'

const DEBUG = 20

function refusals (lines: LogLine[]): Array<{ statusCode: unknown, reason: unknown }> {
  return lines.filter((line) => line.level === DEBUG && line.msg === 'request refused')
    .map(({ statusCode, reason }) => ({ statusCode, reason }))
}

// Issue 4.4: every denied request logs why at debug level.
t.test('each refusal of the auth guard is logged at debug with its reason', async (t) => {
  const { app, lines, raw } = buildLoggedApp(t)
  const admin = await login(app, JOHNDOE)
  const bob = await login(app, { ...BOB, scope: 'items:write' })
  const now = Math.floor(Date.now() / 1000)
  const future = createSigner({ key: TEST_SECRET, algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } })({
    iss: 'http://127.0.0.1:3000', aud: 'http://127.0.0.1:3000', sub: 'johndoe', iat: now + 3600, exp: now + 7200, jti: '0.x.y', scope: ''
  })
  const cases: Array<[string | undefined, string, string]> = [
    [undefined, '/users/me', 'Authentication required'],
    ['Bearer a b', '/users/me', 'The Authorization header is malformed'],
    [`Bearer ${'a'.repeat(5000)}`, '/users/me', 'The access token is too long'],
    ['Bearer abc.def.ghi', '/users/me', 'The access token is malformed'],
    [`Bearer ${future}`, '/users/me', 'The token is issued in the future'],
    [`Bearer ${bob}`, '/items', 'The access token lacks a required scope'],
    [`Bearer ${admin}`, '/client-only', 'Your roles do not allow this']
  ]
  for (const [authorization, url] of cases) {
    await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })
  }
  const bobFull = await login(app, BOB)
  await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { roles: ['admin'] } })
  await call(app, bobFull, { method: 'GET', url: '/users/me' })
  await call(app, admin, { method: 'PATCH', url: '/users/bob', payload: { disabled: true } })
  await call(app, bobFull, { method: 'GET', url: '/users/me' })
  await call(app, admin, { method: 'DELETE', url: '/users/bob' })
  await call(app, bobFull, { method: 'GET', url: '/users/me' })

  t.same(refusals(lines()), [
    ...cases.map(([, url, reason]) => ({ statusCode: url === '/items' || url === '/client-only' ? 403 : 401, reason })),
    { statusCode: 401, reason: 'The access token was revoked' },
    { statusCode: 401, reason: 'The user is disabled' },
    { statusCode: 401, reason: 'The user no longer exists' }
  ])
  t.notOk(raw.join('').includes(admin), 'no token in the log')
})

t.test('refused token requests are logged at debug with their OAuth2 error', async (t) => {
  const { app, lines } = buildLoggedApp(t, { LOGIN_MAX_FAILURES: '1', TOKEN_RATE_LIMIT: '3' })
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  await tokenRequest(app, { username: 'bob', password: 'wrong' })
  const debug = lines().filter((line) => line.level === DEBUG)
  t.same(debug.filter((line) => line.msg === 'token request refused').map(({ error }) => error),
    ['invalid_grant', 'temporarily_unavailable', 'temporarily_unavailable',
      'temporarily_unavailable'], 'a failure, two throttled, one rate-limited')
  t.equal(debug.filter((line) => line.msg === 'request rate limit reached').length, 1)
  t.notOk(JSON.stringify(debug).includes('wrong'), 'the password is not logged')
})
