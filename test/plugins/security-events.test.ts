import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { JOHNDOE, TEST_ENV } from '../helper.js'

const INFO = 30
const WARN = 40

interface Line { level: number, msg?: string, event?: string, [key: string]: unknown }

/**
 * An app logging at the default LOG_LEVEL (info), every route's request logs switched off: what a
 * route's `logLevel` does, and what an access-log-only setup will do. Events must still be written.
 */
function buildQuietApp (t: { teardown (fn: () => unknown): void }) {
  const raw: string[] = []
  const app = buildApp({
    config: loadConfig({ ...TEST_ENV, LOG_LEVEL: 'info', LOGIN_MAX_FAILURES: '2' }),
    logger: { stream: { write: (line: string) => { raw.push(line) } } },
    hashCost: 'test'
  })
  app.addHook('onRoute', (route) => { route.logLevel = 'silent' })
  t.teardown(async () => await app.close())
  return { app, raw, lines: () => raw.map((line) => JSON.parse(line) as Line) }
}

async function form (app: FastifyInstance, url: string, fields: Record<string, string>, remoteAddress = '127.0.0.1') {
  return await app.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString()
  })
}

// API.md "Running": security events, one JSON line each, at info (warn for login_throttled and refresh_reused), never a secret.
t.test('each security event is logged once with its fields and level, also with request logs off, and none carries a secret', async (t) => {
  const { app, raw, lines } = buildQuietApp(t)
  const secrets: string[] = ['secret', 'secret3', 'secretalice', 'wrong-password', 'carol-password', 'carol-new-password',
    'bob-new-password']

  const admin = (await form(app, '/token', { ...JOHNDOE })).json<{ access_token: string, refresh_token: string }>()
  const bob = (await form(app, '/token', { username: 'bob', password: 'secret3' })).json<{ access_token: string, refresh_token: string }>()
  await form(app, '/token', { username: 'nobody', password: 'wrong-password' })
  await form(app, '/token', { username: 'alice', password: 'secretalice' })
  await form(app, '/token', { username: 'bob', password: 'wrong-password' }, '10.0.0.5')
  await form(app, '/token', { username: 'bob', password: 'wrong-password' }, '10.0.0.5')
  await form(app, '/token', { username: 'bob', password: 'wrong-password' }, '10.0.0.5')

  const rotated = (await form(app, '/token', { grant_type: 'refresh_token', refresh_token: admin.refresh_token }))
    .json<{ access_token: string, refresh_token: string }>()
  await form(app, '/token', { grant_type: 'refresh_token', refresh_token: admin.refresh_token })
  await form(app, '/revoke', { token: bob.refresh_token })
  await form(app, '/revoke', { token: 'unknown' })
  const again = (await form(app, '/token', { ...JOHNDOE })).json<{ access_token: string, refresh_token: string }>()
  await form(app, '/revoke', { token: again.access_token })
  await form(app, '/revoke', { token: 'not.a.jwt' })

  const headers = { authorization: `Bearer ${again.access_token}` }
  const fresh = (await form(app, '/token', { ...JOHNDOE })).json<{ access_token: string }>()
  const adminHeaders = { authorization: `Bearer ${fresh.access_token}` }
  t.equal((await app.inject({ method: 'GET', url: '/users/me', headers })).statusCode, 401, 'the revoked token')
  await app.inject({
    method: 'POST', url: '/users', headers: adminHeaders, payload: { username: 'carol', password: 'carol-password', roles: ['client'] }
  })
  await app.inject({
    method: 'PATCH', url: '/users/carol', headers: adminHeaders, payload: { roles: ['admin'], password: 'carol-new-password' }
  })
  await app.inject({ method: 'DELETE', url: '/users/carol', headers: adminHeaders })
  const bobToken = (await form(app, '/token', { username: 'bob', password: 'secret3' })).json<{ access_token: string }>()
  const bobHeaders = { authorization: `Bearer ${bobToken.access_token}` }
  await app.inject({
    method: 'PUT',
    url: '/users/me/password',
    headers: bobHeaders,
    payload: { current_password: 'wrong-password', new_password: 'bob-new-password' }
  })
  await app.inject({
    method: 'PUT',
    url: '/users/me/password',
    headers: bobHeaders,
    payload: { current_password: 'secret3', new_password: 'bob-new-password' }
  })

  const events = lines().filter((line) => line.event !== undefined)
  t.same(events.map(({ level, event, username, reason, actor, changes }) => ({ level, event, username, reason, actor, changes })), [
    { level: INFO, event: 'login_succeeded', username: 'johndoe' },
    { level: INFO, event: 'login_succeeded', username: 'bob' },
    { level: INFO, event: 'login_failed', username: 'nobody', reason: 'unknown_user' },
    { level: INFO, event: 'login_failed', username: 'alice', reason: 'disabled' },
    { level: INFO, event: 'login_failed', username: 'bob', reason: 'wrong_password' },
    { level: INFO, event: 'login_failed', username: 'bob', reason: 'wrong_password' },
    { level: WARN, event: 'login_throttled', username: 'bob' },
    { level: WARN, event: 'refresh_reused', username: 'johndoe' },
    { level: INFO, event: 'token_revoked', username: 'bob' },
    { level: INFO, event: 'login_succeeded', username: 'johndoe' },
    { level: INFO, event: 'token_revoked', username: 'johndoe' },
    { level: INFO, event: 'login_succeeded', username: 'johndoe' },
    { level: INFO, event: 'user_created', username: 'carol', actor: 'johndoe' },
    { level: INFO, event: 'user_updated', username: 'carol', actor: 'johndoe', changes: ['password', 'roles'] },
    { level: INFO, event: 'user_deleted', username: 'carol', actor: 'johndoe' },
    { level: INFO, event: 'login_succeeded', username: 'bob' },
    { level: INFO, event: 'login_failed', username: 'bob', reason: 'wrong_current_password' },
    { level: INFO, event: 'password_changed', username: 'bob' }
  ].map((event) => ({ reason: undefined, actor: undefined, changes: undefined, ...event })))
  for (const event of events) {
    t.equal(event.msg, 'security event')
    t.match(event.ip, /^(127\.0\.0\.1|10\.0\.0\.5)$/)
    t.match(event.reqId, /^req-/)
  }
  t.equal(events.filter((event) => event.ip === '10.0.0.5').length, 3, 'the address the event came from')
  t.equal(lines().filter((line) => line.msg === 'incoming request' || line.msg === 'request completed').length, 0, 'request logs were off')

  const log = raw.join('')
  for (const password of secrets) t.notOk(log.includes(`"${password}"`), 'no password in the log')
  const tokens = [admin.access_token, admin.refresh_token, bob.access_token, bob.refresh_token, rotated.refresh_token, again.access_token]
  for (const token of tokens) {
    t.notOk(log.includes(token.slice(-24)), 'no token, nor its end, in the log')
  }
  t.notMatch(log, /\$argon2|\$2[aby]\$/, 'no password hash in the log')
})
