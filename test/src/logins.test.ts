import t from 'tap'
import { OAuthError } from '../../src/errors.js'
import { createLoginService, revokingLogins, type LoginService } from '../../src/logins.js'
import { openSqliteStore } from '../../src/store/sqlite/store.js'
import type { UserRecord } from '../../src/store/users.js'

const RETENTION = 60_000

type FindUser = (username: string) => Promise<UserRecord | undefined>

async function setup (t: { teardown (fn: () => unknown): void }, findUser?: (find: FindUser) => FindUser) {
  const { users, refreshTokens, close } = openSqliteStore(':memory:')
  t.teardown(close)
  const bob = await users.create({ username: 'bob', password_hash: 'x', roles: ['client'] }, new Date())
  const clock = { now: 1_000_000 }
  const build = (): LoginService => createLoginService({
    refreshTokens,
    findUser: findUser === undefined ? users.find : findUser(users.find),
    now: () => clock.now,
    refreshTokenTtl: 100,
    revokedRetention: RETENTION
  })
  return { users, bob, clock, logins: build(), build }
}

t.test('two concurrent refreshes with one token that both pass the first check: one wins, the other revokes the login', async (t) => {
  // Both refreshes wait at the user lookup until both have read the token as live, so only the
  // check inside the rotation transaction can tell them apart.
  let arrived = 0
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const { logins, bob } = await setup(t, (find) => async (username) => {
    if (++arrived === 2) release()
    await gate
    return await find(username)
  })
  const { loginId, refreshToken } = await logins.start(bob, ['items:read'])
  const results = await Promise.allSettled([logins.refresh(refreshToken, undefined), logins.refresh(refreshToken, undefined)])
  const won = results.filter((result) => result.status === 'fulfilled')
  const lost = results.filter((result) => result.status === 'rejected')
  t.equal(won.length, 1)
  t.equal(lost.length, 1)
  t.same((lost[0] as PromiseRejectedResult).reason,
    new OAuthError('invalid_grant', 'The refresh token was already used; its login is revoked'))
  t.equal(logins.isRevoked(loginId), true)
  const winner = (won[0] as PromiseFulfilledResult<{ refreshToken: string }>).value
  await t.rejects(logins.refresh(winner.refreshToken, undefined),
    new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked'))
})

t.test('a login revoked while its refresh is under way answers invalid_grant without rotating', async (t) => {
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived = (): void => {}
  const waiting = new Promise<void>((resolve) => { arrived = resolve })
  const { logins, bob } = await setup(t, (find) => async (username) => {
    arrived()
    await gate
    return await find(username)
  })
  const { loginId, refreshToken } = await logins.start(bob, ['items:read'])
  const refreshing = logins.refresh(refreshToken, undefined)
  await waiting
  await logins.revokeLogin(loginId)
  release()
  await t.rejects(refreshing, new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked'))
})

t.test('a revoked login is remembered for the retention, then forgotten at the next revocation', async (t) => {
  const { logins, clock } = await setup(t)
  await logins.revokeLogin('first')
  t.equal(logins.isRevoked('first'), true)
  t.equal(logins.isRevoked('other'), false)
  clock.now += RETENTION - 1
  await logins.revokeLogin('second')
  t.equal(logins.isRevoked('first'), true, 'still within the retention')
  clock.now += 1
  await logins.revokeLogin('third')
  t.equal(logins.isRevoked('first'), false)
  t.equal(logins.isRevoked('second'), true)
  t.equal(logins.isRevoked('third'), true)
})

t.test('a new service loads the logins revoked within the retention', async (t) => {
  const { logins, bob, clock, build } = await setup(t)
  const old = await logins.start(bob, ['items:read'])
  const recent = await logins.start(bob, ['items:read'])
  await logins.revokeLogin(old.loginId)
  clock.now += RETENTION / 2
  await logins.revokeRefreshToken(recent.refreshToken)
  clock.now += RETENTION / 2
  const restarted = build()
  await restarted.load()
  t.equal(restarted.isRevoked(recent.loginId), true)
  t.equal(restarted.isRevoked(old.loginId), false, 'its access tokens have expired by now')
})

t.test('revoking an unknown refresh token reports it and remembers nothing', async (t) => {
  const { logins } = await setup(t)
  t.equal(await logins.revokeRefreshToken('unknown'), false)
})

t.test('the users repository revokes logins on password, roles, disabled changes and deletion only', async (t) => {
  const { users, logins } = await setup(t)
  const revokedFor: string[] = []
  const wrapped = revokingLogins(users, {
    revokeUser: async (username) => { revokedFor.push(username); await logins.revokeUser(username) }
  })
  await wrapped.update('bob', { email: 'bob@example.com', full_name: 'Bob' })
  t.same(revokedFor, [])
  await wrapped.update('bob', { password_hash: 'y' })
  await wrapped.update('bob', { roles: ['admin'] })
  await wrapped.update('bob', { disabled: true })
  t.same(revokedFor, ['bob', 'bob', 'bob'])
  t.equal(await wrapped.update('nobody', { disabled: true }), undefined)
  t.equal(await wrapped.delete('nobody'), false)
  t.same(revokedFor, ['bob', 'bob', 'bob'])
  t.equal(await wrapped.delete('bob'), true)
  t.same(revokedFor, ['bob', 'bob', 'bob', 'bob'])
})
