import t from 'tap'
import type { UserRecord } from '../../src/store/users.js'
import { createUserStateCache } from '../../src/user-state.js'

function user (overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    username: 'bob',
    email: null,
    full_name: null,
    password_hash: 'h',
    disabled: false,
    roles: ['client'],
    token_generation: 0,
    created_at: '',
    ...overrides
  }
}

t.test('the user-state cache reads once, then serves from memory with no expiry', async (t) => {
  let reads = 0
  const cache = createUserStateCache({ load: async () => { reads++; return user() } })
  t.equal(cache.peek('bob'), undefined)
  const [a, b] = await Promise.all([cache.load('bob'), cache.load('bob')])
  t.same(a, { roles: ['client'], disabled: false, generation: 0 })
  t.equal(a, b)
  t.equal(reads, 1, 'concurrent loads share one read')
  t.same(cache.peek('bob'), a)
})

// API.md "Authentication and authorization": a change by another tool takes effect immediately,
// so what the store's change signal names is read again.
t.test('forget(username) drops one user, forget() everyone', async (t) => {
  const cache = createUserStateCache({ load: async (username) => user({ username }) })
  await cache.load('bob')
  await cache.load('alice')
  cache.forget('bob')
  t.equal(cache.peek('bob'), undefined)
  t.ok(cache.peek('alice'))
  cache.forget()
  t.equal(cache.peek('alice'), undefined)
})

t.test('a read under way when the change signal arrives is not kept', async (t) => {
  const releases: Array<(value: UserRecord) => void> = []
  const cache = createUserStateCache({ load: async () => await new Promise<UserRecord>((resolve) => { releases.push(resolve) }) })
  const one = cache.load('bob')
  const all = cache.load('alice')
  cache.forget('bob')
  cache.forget()
  releases[0]?.(user())
  releases[1]?.(user({ username: 'alice' }))
  t.ok(await one, 'the caller still gets its answer')
  await all
  t.equal(cache.peek('bob'), undefined, 'but it may predate the change: not cached')
  t.equal(cache.peek('alice'), undefined)
})

t.test('a write during a read wins over the read\'s older result', async (t) => {
  let release: (value: UserRecord) => void = () => {}
  const cache = createUserStateCache({ load: async () => await new Promise<UserRecord>((resolve) => { release = resolve }) })
  const loading = cache.load('bob')
  cache.update('bob', user({ disabled: true, token_generation: 1 }))
  release(user())
  await loading
  t.same(cache.peek('bob'), { roles: ['client'], disabled: true, generation: 1 })
})

t.test('the user-state cache keeps deletions and drops the oldest entry when full', async (t) => {
  const cache = createUserStateCache({ load: async () => undefined, maxEntries: 2 })
  t.equal(await cache.load('ghost'), null)
  t.equal(cache.peek('ghost'), null)
  cache.update('a', user({ username: 'a' }))
  cache.update('b', user({ username: 'b' }))
  t.equal(cache.peek('ghost'), undefined, 'evicted')
  t.ok(cache.peek('b'))
})

t.test('a failed read is not cached', async (t) => {
  let fail = true
  const cache = createUserStateCache({ load: async () => { if (fail) throw new Error('db down'); return user() } })
  await t.rejects(cache.load('bob'), /db down/)
  fail = false
  t.ok(await cache.load('bob'))
})
