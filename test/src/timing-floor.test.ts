import t from 'tap'
import { createTimingFloor } from '../../src/timing-floor.js'

function fakeTime () {
  const state = { now: 1000, slept: [] as number[] }
  const timing = createTimingFloor({
    clock: () => state.now,
    sleep: async (ms) => { state.slept.push(ms); state.now += ms }
  })
  return { state, timing }
}

// API.md "Tokens": the same time whether the user exists or not, whatever kind of hash it has.
t.test('the floor is the slowest kind measured, each kind measured once', async (t) => {
  const { timing } = fakeTime()
  t.equal(timing.floorMs(), 0)
  timing.record('argon2id$v=19$m=19456,t=2,p=1', 30)
  timing.record('bcrypt$12', 500)
  timing.record('bcrypt$12', 900)
  t.equal(timing.floorMs(), 500, 'a later, slower run of a kind does not raise it')
  t.equal(timing.has('bcrypt$12'), true)
  t.equal(timing.has('bcrypt$10'), false)
})

t.test('hold() waits what is left of the floor since the start, on a timer', async (t) => {
  const { state, timing } = fakeTime()
  timing.record('bcrypt$12', 500)
  const started = state.now
  state.now += 40
  await timing.hold(started)
  t.same(state.slept, [460])
  await timing.hold(started)
  t.same(state.slept, [460], 'nothing left to wait')
})

t.test('hold() waits again when a timer fires early, until the floor has really passed', async (t) => {
  const state = { now: 1000, slept: [] as number[] }
  const timing = createTimingFloor({
    clock: () => state.now,
    // The first sleep ends 1.5 ms short of what it was asked for.
    sleep: async (ms) => { state.slept.push(ms); state.now += state.slept.length === 1 ? ms - 1.5 : ms }
  })
  timing.record('k', 10)
  await timing.hold(1000)
  t.same(state.slept, [10, 2])
  t.ok(state.now >= 1010)
})

t.test('the default clock and sleep are real', async (t) => {
  const timing = createTimingFloor()
  timing.record('k', 5)
  const started = timing.clock()
  await timing.hold(started)
  t.ok(timing.clock() - started >= 4, 'held about 5 ms')
})
