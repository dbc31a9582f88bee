import bcrypt from 'bcrypt'
import t from 'tap'
import { createPasswordHasher, hashCostProblem, hashKind, HasherBusyError } from '../../src/passwords.js'
import { createTimingFloor } from '../../src/timing-floor.js'

/** A timing floor on a clock that stands still unless a sleep moves it: durations are what the test records. */
function frozenTiming () {
  const state = { now: 0, slept: [] as number[] }
  const timing = createTimingFloor({ clock: () => state.now, sleep: async (ms) => { state.slept.push(ms); state.now += ms } })
  return { state, timing }
}

t.test('hashKind() names algorithm and cost, without salt or digest', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  t.equal(hashKind(await hasher.hash('pw')), 'argon2id$v=19$m=8,p=1,t=1')
  t.equal(hashKind(await bcrypt.hash('pw', 4)), 'bcrypt$04')
  t.equal(hashKind('$2y$10$' + 'a'.repeat(53)), 'bcrypt$10')
  t.equal(hashKind('plain'), undefined)
  t.equal(hashCostProblem(await hasher.hash('pw')), undefined)
})

// Issue 12.5: an unknown user, an argon2id user and a bcrypt user fail after the same time.
t.test('every failed check is held to the floor after its hashing began, and a right one is not', async (t) => {
  const { state, timing } = frozenTiming()
  const hasher = createPasswordHasher({ cost: 'test', timing })
  const hash = await hasher.hash('right')
  timing.record('bcrypt$12', 500)
  t.equal(hasher.failureFloorMs(), 500)
  t.equal(await hasher.verify(hash, 'right'), true)
  t.same(state.slept, [], 'a right password answers at once')
  t.equal(await hasher.verify(hash, 'wrong'), false)
  t.equal(await hasher.verifyDummy('anything'), false)
  t.equal(await hasher.verify('not a hash', 'x'), false)
  t.same(state.slept, [500, 500, 500], 'a wrong password, an unknown user and an unreadable hash all wait the whole floor')
})

t.test('calibrate() measures the dummy and each stored kind once, without waiting for the floor', async (t) => {
  const { state, timing } = frozenTiming()
  const hasher = createPasswordHasher({ cost: 'test', timing })
  const bcryptHash = await bcrypt.hash('pw', 4)
  const argonHash = await hasher.hash('pw')
  const checks = { count: 0 }
  const compare = bcrypt.compare
  t.teardown(() => { bcrypt.compare = compare })
  const counted = async (...args: Parameters<typeof compare>) => { checks.count++; return await compare(...args) }
  bcrypt.compare = counted as unknown as typeof compare
  await hasher.calibrate([bcryptHash, argonHash, await bcrypt.hash('other', 4), 'unreadable'])
  t.equal(timing.has('bcrypt$04'), true)
  t.equal(timing.has('argon2id$v=19$m=8,p=1,t=1'), true, 'the dummy kind')
  t.equal(checks.count, 1, 'one bcrypt verification for the two bcrypt hashes of one cost')
  await hasher.calibrate([bcryptHash])
  t.equal(checks.count, 1, 'a kind measured is not measured again')
  t.same(state.slept, [])
})

// Issue 12.3: one client must not starve other users' logins.
t.test('past its share of places, a client is refused at once while others still queue', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 10, maxPerClient: 2 })
  const hash = await hasher.hash('pw')
  const first = hasher.verify(hash, 'pw', 'a')
  const second = hasher.verify(hash, 'pw', 'a')
  t.equal(hasher.saturated('a'), true, 'client a holds its share')
  t.equal(hasher.saturated('b'), false)
  t.equal(hasher.saturated(), false)
  await t.rejects(hasher.verify(hash, 'pw', 'a'), HasherBusyError)
  await t.rejects(hasher.hash('pw', 'a'), HasherBusyError)
  const other = hasher.verify(hash, 'pw', 'b')
  t.same(await Promise.all([first, second, other]), [true, true, true])
  t.equal(hasher.saturated('a'), false, 'the share is given back')
  t.equal(await hasher.verify(hash, 'pw', 'a'), true)
})

t.test('a place is given back when its check is refused for waiting too long', async (t) => {
  const hasher = createPasswordHasher({ cost: 'owasp', concurrency: 1, maxQueued: 4, maxWaitMs: 1, maxPerClient: 1 })
  const running = hasher.hash('pw', 'a')
  await t.rejects(hasher.verify('$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaA', 'pw', 'b'), HasherBusyError)
  t.equal(hasher.saturated('b'), false)
  await running
})

t.test('by default one client holds twice the slots, and never fewer than two places', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 10 })
  const hash = await hasher.hash('pw')
  const held = [hasher.verify(hash, 'pw', 'a'), hasher.verify(hash, 'pw', 'a')]
  await t.rejects(hasher.verify(hash, 'pw', 'a'), HasherBusyError)
  await Promise.all(held)
})
