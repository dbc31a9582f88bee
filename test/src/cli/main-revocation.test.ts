import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { main } from '../../../src/cli/main.js'
import { openStore } from '../../../src/store/store.js'
import { hashRefreshToken } from '../../../src/tokens.js'
import { buildTestApp, call } from '../../helper.js'
import { grant, refresh } from '../../oauth-helpers.js'

// API.md "Authentication and authorization", last paragraph: a token issued before a change "whichever
// instance or tool (the command line included) made the change" is refused; a deleted user's tokens never
// authorize anything again, also after a new user is created under the same name, "and neither does that
// user's refresh token".

const FIXTURE = fileURLToPath(new URL('../../fixtures/fastapi-users.json', import.meta.url))
const REVOKED = 'Bearer error="invalid_token", error_description="The access token was revoked"'
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
// How long a running server may keep a user's state before it re-reads the database (README "Command line").
const STATE_TTL_MS = 5000

/** A running server and the command line on one database file, on one clock. */
function setup (t: Test) {
  const databasePath = join(t.testdir(), 'app.db')
  // Near the real time: the JWT library checks exp against the system clock as well.
  const clock = { now: Date.now() }
  const app = buildTestApp(t, { env: { DATABASE_PATH: databasePath, DEMO_USERS: 'false' }, now: () => clock.now })
  async function cli (argv: string[], stdin = ''): Promise<void> {
    const input = new PassThrough()
    input.end(stdin)
    let stderr = ''
    const code = await main(argv, {
      env: { DATABASE_PATH: databasePath, JWT_SECRET: 'x'.repeat(32) },
      stdin: input,
      stdout: { write: () => true },
      stderr: { write: (text: string) => { stderr += text } },
      hashCost: 'test',
      now: () => clock.now
    })
    if (code !== 0) throw new Error(`secure-api ${argv.join(' ')}: exit ${code}: ${stderr}`)
  }
  /** Lets the server's cached user state expire, as it does for every change made by another process. */
  function waitForStateReread (): void {
    clock.now += STATE_TTL_MS + 1
  }
  return { app, cli, clock, databasePath, waitForStateReread }
}

t.test('after `user delete` and `user add` of the same name, the old access and refresh tokens are refused', async (t) => {
  const { app, cli, waitForStateReread } = setup(t)
  await cli(['user', 'add', 'dave', '--roles', 'client'], 'correct horse\n')
  const old = await grant(app, { username: 'dave', password: 'correct horse' })
  await cli(['user', 'delete', 'dave'])
  await cli(['user', 'add', 'dave', '--roles', 'admin'], 'another horse\n')
  waitForStateReread()
  const res = await call(app, old.access_token, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
  const refreshed = await refresh(app, old.refresh_token)
  t.equal(refreshed.statusCode, 400)
  t.same(refreshed.json(), INVALID_GRANT)
  const fresh = await grant(app, { username: 'dave', password: 'another horse' })
  t.equal((await call(app, fresh.access_token, { method: 'GET', url: '/admin-only' })).statusCode, 200, 'the new dave works')
})

t.test('`user delete` marks every login of the user revoked in the database', async (t) => {
  const { app, cli, clock, databasePath } = setup(t)
  await cli(['user', 'add', 'dave', '--roles', 'client'], 'correct horse\n')
  const first = await grant(app, { username: 'dave', password: 'correct horse' })
  const second = await grant(app, { username: 'dave', password: 'correct horse' })
  await cli(['user', 'delete', 'dave'])
  const { refreshTokens, close } = await openStore({ databasePath })
  t.teardown(close)
  for (const tokens of [first, second]) {
    t.match(await refreshTokens.find(hashRefreshToken(tokens.refresh_token)), { username: 'dave', revoked_at: clock.now })
  }
})

t.test('after `user delete`, an import of the same name does not bring the old tokens back', async (t) => {
  const { app, cli, waitForStateReread } = setup(t)
  // The fixture's johndoe is an admin; this one is a client.
  await cli(['user', 'add', 'johndoe', '--roles', 'client'], 'correct horse\n')
  const old = await grant(app, { username: 'johndoe', password: 'correct horse' })
  await cli(['user', 'delete', 'johndoe'])
  await cli(['user', 'import', FIXTURE])
  waitForStateReread()
  const res = await call(app, old.access_token, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
  t.same((await refresh(app, old.refresh_token)).json(), INVALID_GRANT)
})

// plugins/auth.ts compares the token's generation with the user's. Here nothing else can refuse the token:
// the user is enabled again with the same roles, and the running server never saw the command line revoke
// the login (it learns of revoked logins only at start).
t.test('a token issued before `user disable` stays refused after `user enable`', async (t) => {
  const { app, cli, waitForStateReread } = setup(t)
  await cli(['user', 'add', 'dave', '--roles', 'client'], 'correct horse\n')
  const old = await grant(app, { username: 'dave', password: 'correct horse' })
  t.equal((await call(app, old.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
  await cli(['user', 'disable', 'dave'])
  await cli(['user', 'enable', 'dave'])
  waitForStateReread()
  const res = await call(app, old.access_token, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
})

t.test('after `user set-password`, the running server refuses the old access and refresh tokens; the new password works', async (t) => {
  const { app, cli } = setup(t)
  await cli(['user', 'add', 'dave', '--roles', 'client'], 'correct horse\n')
  const old = await grant(app, { username: 'dave', password: 'correct horse' })
  await cli(['user', 'set-password', 'dave'], 'battery staple\n')
  const res = await call(app, old.access_token, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], REVOKED)
  t.same((await refresh(app, old.refresh_token)).json(), INVALID_GRANT)
  const fresh = await grant(app, { username: 'dave', password: 'battery staple' })
  t.equal((await call(app, fresh.access_token, { method: 'GET', url: '/users/me' })).statusCode, 200)
})
