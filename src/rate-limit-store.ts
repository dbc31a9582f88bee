import type { CountersRepository } from './store/counters.js'

/** What @fastify/rate-limit's `store` option is constructed into (its README, "Custom Store"). */
export interface RateLimitStore {
  incr (key: string, callback: (err: Error | null, result: { current: number, ttl: number }) => void, timeWindow: number, max: number): void
  /**
   * A view for one route; @fastify/rate-limit makes one per route that declares `config.rateLimit`,
   * passing that route's merged options (ChildOptions; its types say RouteOptions, which they are not).
   */
  child (routeOptions: object): RateLimitStore
}

interface ChildOptions { groupId?: string, routeInfo?: { method?: unknown, url?: unknown } }

/** A route's counter: its group's, or its own (method and URL) when it has none. */
function routeGroup (options: object): string {
  const { groupId, routeInfo } = options as ChildOptions
  return groupId ?? `${String(routeInfo?.method)} ${String(routeInfo?.url)}`
}

type IncrCallback = Parameters<RateLimitStore['incr']>[1]

/**
 * The store class @fastify/rate-limit constructs (`new store(options)`): every route's view counts
 * under its group's key, or its own, through the one `incr` given.
 */
function storeClass (incr: (key: string, timeWindow: number, callback: IncrCallback) => void): new () => RateLimitStore {
  function view (prefix: string): RateLimitStore {
    return {
      incr: (key, callback, timeWindow) => { incr(`${prefix}\n${key}`, timeWindow, callback) },
      child: (options) => view(routeGroup(options))
    }
  }
  const root = view('')
  return class {
    constructor () {
      return root
    }
  } as unknown as new () => RateLimitStore
}

export interface RateLimitStoreOptions {
  /** Milliseconds since the epoch. */
  now: () => number
  /** Counters kept at most; past it the one whose window started first is dropped. */
  maxKeys?: number
}

/**
 * Fixed windows in memory, shared by every route. @fastify/rate-limit's own LocalStore gives each
 * route a fresh store, so a `groupId` shared by two routes never shares a budget with it; here a
 * route's counter is keyed by its group, or by its method and URL when it has none.
 * Returned as a class because the plugin calls `new store(options)`.
 */
export function sharedRateLimitStore ({ now, maxKeys = 100_000 }: RateLimitStoreOptions): new () => RateLimitStore {
  // Map order is the order in which windows started: re-inserted when a new one starts.
  const windows = new Map<string, { count: number, start: number }>()

  function incr (key: string, timeWindow: number): { current: number, ttl: number } {
    const at = now()
    let window = windows.get(key)
    if (window === undefined || window.start + timeWindow <= at) {
      windows.delete(key)
      if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string)
      window = { count: 0, start: at }
      windows.set(key, window)
    }
    window.count++
    return { current: window.count, ttl: window.start + timeWindow - at }
  }

  return storeClass((key, timeWindow, callback) => { callback(null, incr(key, timeWindow)) })
}

export interface CountedRateLimitStoreOptions {
  /**
   * The database's counters (PostgreSQL mode). A function: @fastify/rate-limit is registered before
   * the store is open, and counts only once requests arrive.
   */
  counters: () => CountersRepository
  /** Milliseconds since the epoch. */
  now: () => number
  /** Milliseconds between deletions of ended windows. */
  pruneEveryMs?: number
}

/**
 * The same fixed windows, keyed the same way, in the database: every instance on it counts into one
 * budget per address (API.md "Several instances": TOKEN_RATE_LIMIT counts across all instances).
 * A database that does not answer fails the request (503 with Retry-After), as @fastify/rate-limit
 * passes the error on rather than letting the request through uncounted.
 */
export function countedRateLimitStore ({ counters, now, pruneEveryMs = 60_000 }: CountedRateLimitStoreOptions): new () => RateLimitStore {
  let lastPrune = now()

  async function incr (key: string, timeWindow: number): Promise<{ current: number, ttl: number }> {
    const at = now()
    if (at - lastPrune >= pruneEveryMs) {
      lastPrune = at
      await counters().prune(at)
    }
    const { count, started } = await counters().hit(key, at, timeWindow)
    return { current: count, ttl: started + timeWindow - at }
  }

  return storeClass((key, timeWindow, callback) => {
    incr(key, timeWindow).then(
      (result) => { callback(null, result) },
      (err: Error) => { callback(err, { current: 0, ttl: 0 }) }
    )
  })
}
