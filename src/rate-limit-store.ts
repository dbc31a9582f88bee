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

  function view (prefix: string): RateLimitStore {
    return {
      incr: (key, callback, timeWindow) => { callback(null, incr(`${prefix}\n${key}`, timeWindow)) },
      child: (options) => {
        const { groupId, routeInfo } = options as ChildOptions
        return view(groupId ?? `${String(routeInfo?.method)} ${String(routeInfo?.url)}`)
      }
    }
  }

  const root = view('')
  return class {
    constructor () {
      return root
    }
  } as unknown as new () => RateLimitStore
}
