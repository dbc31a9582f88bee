import { join } from 'node:path'
import argon2 from 'argon2'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { defaultHashingSlots } from '../../src/passwords.js'
import { BOB, TEST_ENV, buildTestApp } from '../helper.js'
import fastapiUsers from '../fixtures/fastapi-users.json' with { type: 'json' }

async function loginFrom (app: FastifyInstance, form: object, remoteAddress = '127.0.0.1') {
  return await app.inject({
    method: 'POST',
    url: '/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form as Record<string, string>).toString()
  })
}

/** An app hashing at the real cost (argon2id, 19 MiB, t=2), for tests about hashing work and queueing. */
function buildOwaspApp (t: { teardown (fn: () => unknown): void }): FastifyInstance {
  const app = buildApp({ config: loadConfig(TEST_ENV), logger: false, hashCost: 'owasp' })
  t.teardown(async () => await app.close())
  return app
}

// Issue 12.10: an IPv6 client holds a whole /64; the login throttle keys on it.
t.test('the login throttle counts every address of one IPv6 /64 as one client, and ::ffff:a.b.c.d as a.b.c.d', async (t) => {
  const app = buildTestApp(t, { env: { LOGIN_MAX_FAILURES: '2' } })
  t.equal((await loginFrom(app, { username: 'bob', password: 'wrong' }, '2001:db8:1:2::1')).statusCode, 400)
  t.equal((await loginFrom(app, { username: 'bob', password: 'wrong' }, '2001:db8:1:2:ffff::9')).statusCode, 400)
  const refused = await loginFrom(app, BOB, '2001:db8:1:2::3')
  t.equal(refused.statusCode, 429, 'another address of the same /64')
  t.equal(refused.headers['retry-after'], '900')
  t.equal((await loginFrom(app, BOB, '2001:db8:1:3::1')).statusCode, 200, 'the next /64 is another client')
  t.equal((await loginFrom(app, { username: 'bob', password: 'wrong' }, '::ffff:10.0.0.1')).statusCode, 400)
  t.equal((await loginFrom(app, { username: 'bob', password: 'wrong' }, '10.0.0.1')).statusCode, 400)
  t.equal((await loginFrom(app, BOB, '::ffff:10.0.0.1')).statusCode, 429)
})

// Issue 12.3: one client flooding the hasher must not starve other users' logins.
t.test('a flood of logins from one address is shed at once past its share, and another user still logs in', async (t) => {
  const app = buildOwaspApp(t)
  await app.ready()
  const flood = Array.from({ length: 200 }, async (_, i) => await loginFrom(app, { username: `nobody${i}`, password: 'wrong' },
    '203.0.113.7'))
  const real = loginFrom(app, BOB, '198.51.100.1')
  const [answers, mine] = await Promise.all([Promise.all(flood), real])
  t.equal(mine.statusCode, 200, 'the other user logs in')
  const shed = answers.filter((res) => res.statusCode === 503)
  t.same([...new Set(answers.map((res) => res.statusCode))].sort(), [400, 503],
    'the flood gets wrong-password answers and 503s, nothing else')
  t.ok(shed.length >= 100, `most of the flood is shed (${shed.length} of 200)`)
  // Its share is 2 × the hashing slots places at once; without it, the flood's requests would be hashed
  // one after another until their queue timed out (18 here under load, about 100 on an idle machine).
  const share = Math.max(2, 2 * defaultHashingSlots())
  const checked = answers.length - shed.length
  t.ok(checked <= 2 * share,
    `the flood had only its share of places in the hasher: ${checked} of its passwords were checked, its share is ${share}`)
  for (const res of shed) {
    t.equal(res.headers['retry-after'], '1')
    t.same(res.json(), { error: 'temporarily_unavailable', error_description: 'Too many logins at once; retry shortly' })
  }
})

// Issue 12.3, as reported: 1,500 concurrent wrong current passwords from one token starved another user's logins.
t.test('1,500 concurrent wrong current passwords from one token: no 5xx but 503, and another user logs in every time', async (t) => {
  const app = buildOwaspApp(t)
  await app.ready()
  const login = await loginFrom(app, { username: 'johndoe', password: 'secret' }, '203.0.113.7')
  const authorization = `Bearer ${login.json<{ access_token: string }>().access_token}`
  const flood = Promise.all(Array.from({ length: 1500 }, async (_, i) => await app.inject({
    method: 'PUT',
    url: '/users/me/password',
    remoteAddress: '203.0.113.7',
    headers: { authorization },
    payload: { current_password: `wrong-${i}`, new_password: 'a-new-password' }
  })))
  const mine = []
  for (let i = 0; i < 5; i++) mine.push((await loginFrom(app, BOB, '198.51.100.1')).statusCode)
  const answers = await flood
  t.same(mine, [200, 200, 200, 200, 200], 'the other user\'s logins')
  const counts: Record<number, number> = {}
  for (const res of answers) counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1
  t.same(Object.keys(counts).filter((status) => !['400', '429', '503'].includes(status)), [],
    `only 400, 429 and 503: ${JSON.stringify(counts)}`)
  t.ok((counts[400] ?? 0) <= 10, 'no more wrong passwords checked than LOGIN_MAX_FAILURES')
  t.equal(answers.filter((res) => res.statusCode >= 429).every((res) => res.headers['retry-after'] !== undefined), true,
    'every refusal says when to retry')
})

// Issue 12 "test gaps": the unknown-user path must do the hashing work, not merely call our wrapper.
t.test('a login for an unknown username costs a real argon2id verification at the configured cost', async (t) => {
  const app = buildOwaspApp(t)
  await app.ready()
  await loginFrom(app, { username: 'nobody', password: 'warm-up' })
  async function cpuMicros (work: () => Promise<unknown>): Promise<number> {
    const before = process.cpuUsage()
    await work()
    const used = process.cpuUsage(before)
    return used.user + used.system
  }
  // What the 'owasp' cost is: OWASP's minimum for argon2id. process.cpuUsage() counts the thread pool's threads too.
  const reference = await argon2.hash('reference', { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 })
  const verification = await cpuMicros(async () => await argon2.verify(reference, 'wrong'))
  const unknownUser = await cpuMicros(async () => await loginFrom(app, { username: 'nobody-else', password: 'wrong' }))
  t.ok(unknownUser >= verification / 2, `the failed login used ${unknownUser} µs of CPU; one verification uses ${verification} µs`)
})

// Issue 12.5: the time of a failed login must not tell an imported bcrypt user from an unknown one.
t.test('with a bcrypt user stored, every failed login answers after the bcrypt verification time measured at start', async (t) => {
  const path = join(t.testdir(), 'app.db')
  const seeding = buildTestApp(t, { env: { DATABASE_PATH: path } })
  await seeding.ready()
  // passlib's bcrypt at cost 12, as the FastAPI example stores it: far slower than the test-cost argon2id of the others.
  await seeding.users.create({ username: 'imported', password_hash: fastapiUsers.johndoe.hashed_password, roles: ['client'] }, new Date())
  await seeding.close()

  const app = buildTestApp(t, { env: { DATABASE_PATH: path } })
  await app.ready()
  const floor = app.passwords.failureFloorMs()
  t.ok(floor >= 50, `the floor is bcrypt's cost-12 time, measured at start (${Math.round(floor)} ms)`)
  for (const username of ['nobody', 'bob', 'alice', 'imported']) {
    const started = performance.now()
    const res = await loginFrom(app, { username, password: 'wrong' })
    const elapsed = performance.now() - started
    t.equal(res.statusCode, 400)
    // A timer, not a hash, holds the answer: it can end late, never early.
    t.ok(elapsed >= floor - 1, `${username}: ${Math.round(elapsed)} ms, the floor ${Math.round(floor)} ms`)
  }
})
