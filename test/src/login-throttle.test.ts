import t from 'tap'
import { createLoginThrottle, type LoginAttempt } from '../../src/login-throttle.js'

function clock (start = 1_000_000) {
  let time = start
  return { now: () => time, advance: (ms: number) => { time += ms } }
}

async function fail (throttle: ReturnType<typeof createLoginThrottle>, username = 'bob', address = '10.0.0.1'): Promise<LoginAttempt> {
  return await throttle.attempt(username, address)
}

// API.md "Tokens": LOGIN_MAX_FAILURES in LOGIN_WINDOW for one username from one address → 429 with Retry-After.
t.test('max failures are allowed, the next attempt is refused until the oldest leaves the window', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 3, windowSeconds: 60, now: time.now })
  for (let i = 0; i < 3; i++) {
    t.equal((await fail(throttle)).allowed, true)
    time.advance(10_000)
  }
  // Failures at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
  t.same(await fail(throttle), { allowed: false, retryAfterSeconds: 30 })
  time.advance(29_500)
  t.same(await fail(throttle), { allowed: false, retryAfterSeconds: 1 }, 'Retry-After rounds up and is at least 1')
  time.advance(500)
  t.equal((await fail(throttle)).allowed, true, 'a slot is free once the oldest failure is a window old')
  t.same(await fail(throttle), { allowed: false, retryAfterSeconds: 10 })
})

t.test('a refused attempt is not counted', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 1, windowSeconds: 10, now: time.now })
  await fail(throttle)
  for (let i = 0; i < 5; i++) {
    time.advance(1000)
    t.equal((await fail(throttle)).allowed, false)
  }
  time.advance(5000)
  t.equal((await fail(throttle)).allowed, true, 'refusals did not push the window on')
})

t.test('a released attempt does not count, and releasing twice changes nothing', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 2, windowSeconds: 60, now: time.now })
  const first = await fail(throttle)
  if (!first.allowed) throw new Error('expected an allowed attempt')
  await fail(throttle)
  await first.release()
  await first.release()
  t.equal((await fail(throttle)).allowed, true, 'the released slot is free again')
  t.equal((await fail(throttle)).allowed, false)
  const only = await fail(throttle, 'alice')
  if (only.allowed) await only.release()
  t.equal(throttle.size(), 1, 'a key left with no failure is dropped')
})

t.test('parallel attempts count before they finish, so they cannot overrun the limit', async (t) => {
  const throttle = createLoginThrottle({ max: 3, windowSeconds: 60, now: clock().now })
  const results = await Promise.all(Array.from({ length: 10 }, async () => await fail(throttle)))
  t.equal(results.filter((result) => result.allowed).length, 3)
})

t.test('limits are per username and per address', async (t) => {
  const throttle = createLoginThrottle({ max: 1, windowSeconds: 60, now: clock().now })
  await fail(throttle, 'bob', '10.0.0.1')
  t.equal((await fail(throttle, 'bob', '10.0.0.1')).allowed, false)
  t.equal((await fail(throttle, 'bob', '10.0.0.2')).allowed, true, 'another address')
  t.equal((await fail(throttle, 'johndoe', '10.0.0.1')).allowed, true, 'another username')
  t.equal((await fail(throttle, 'Bob', '10.0.0.1')).allowed, true, 'usernames are case-sensitive')
})

t.test('usernames holding separators do not collide with other pairs', async (t) => {
  const throttle = createLoginThrottle({ max: 1, windowSeconds: 60, now: clock().now })
  await fail(throttle, 'a","b', 'x')
  t.equal((await fail(throttle, 'b', 'x","a')).allowed, true)
  t.equal((await fail(throttle, 'a', 'x')).allowed, true)
})

t.test('releasing an attempt whose failures were swept away is harmless', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 2, windowSeconds: 10, now: time.now })
  const attempt = await fail(throttle)
  time.advance(10_000)
  await fail(throttle, 'other')
  t.equal(throttle.size(), 1, 'the expired key was swept')
  if (attempt.allowed) await attempt.release()
  t.equal(throttle.size(), 1)
})

t.test('releasing an expired attempt leaves the newer failures of its key counted', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 1, windowSeconds: 10, now: time.now })
  const old = await fail(throttle)
  time.advance(10_000)
  await fail(throttle)
  if (old.allowed) await old.release()
  t.equal((await fail(throttle)).allowed, false)
})

t.test('keys whose failures all expired are swept, so memory stays bounded', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 5, windowSeconds: 60, now: time.now })
  for (let i = 0; i < 1000; i++) await fail(throttle, `user${i}`)
  t.equal(throttle.size(), 1000)
  time.advance(30_000)
  await fail(throttle, 'user0')
  t.equal(throttle.size(), 1000, 'nothing expired yet')
  time.advance(30_000)
  await fail(throttle, 'late')
  t.equal(throttle.size(), 2, 'only user0 (failed 30 s ago) and the new key remain')
})

t.test('past maxKeys the key whose last failure is oldest is dropped', async (t) => {
  const time = clock()
  const throttle = createLoginThrottle({ max: 1, windowSeconds: 600, now: time.now, maxKeys: 3 })
  await fail(throttle, 'a')
  time.advance(1)
  await fail(throttle, 'b')
  time.advance(1)
  await fail(throttle, 'c')
  time.advance(1)
  await fail(throttle, 'd')
  t.equal(throttle.size(), 3)
  t.equal((await fail(throttle, 'a')).allowed, true, 'a was dropped')
  t.equal((await fail(throttle, 'c')).allowed, false, 'c is still counted')
})
