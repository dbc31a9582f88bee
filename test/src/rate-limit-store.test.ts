import t from 'tap'
import { sharedRateLimitStore, type RateLimitStore } from '../../src/rate-limit-store.js'

function incr (store: RateLimitStore, key: string, timeWindow = 1000): { current: number, ttl: number } {
  let result: { current: number, ttl: number } | undefined
  store.incr(key, (_err, value) => { result = value }, timeWindow, 10)
  return result as { current: number, ttl: number }
}

// API.md "Tokens": /token and /revoke share one TOKEN_RATE_LIMIT budget; @fastify/rate-limit builds one child store per route.
t.test('children of one group share counters; a child without a group counts per route', async (t) => {
  let now = 0
  const Store = sharedRateLimitStore({ now: () => now })
  const root = new Store()
  t.equal(new Store(), root, 'every construction is the one shared store')
  const token = root.child({ groupId: 'g', routeInfo: { method: 'POST', url: '/token' } })
  const revoke = root.child({ groupId: 'g', routeInfo: { method: 'POST', url: '/revoke' } })
  const other = root.child({ routeInfo: { method: 'GET', url: '/x' } })
  const another = root.child({ routeInfo: { method: 'GET', url: '/y' } })
  t.same(incr(token, 'a'), { current: 1, ttl: 1000 })
  now = 400
  t.same(incr(revoke, 'a'), { current: 2, ttl: 600 })
  t.same(incr(revoke, 'b'), { current: 1, ttl: 1000 }, 'per key')
  t.same(incr(other, 'a'), { current: 1, ttl: 1000 })
  t.same(incr(another, 'a'), { current: 1, ttl: 1000 })
  now = 1000
  t.same(incr(token, 'a'), { current: 1, ttl: 1000 }, 'a new window')
})

t.test('past maxKeys the counter whose window started first is dropped', async (t) => {
  const Store = sharedRateLimitStore({ now: () => 0, maxKeys: 2 })
  const store = new Store().child({ groupId: 'g' })
  incr(store, 'a')
  incr(store, 'a')
  incr(store, 'b')
  incr(store, 'c')
  t.equal(incr(store, 'b').current, 2)
  t.equal(incr(store, 'a').current, 1, 'a was dropped')
})
