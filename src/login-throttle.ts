import type { CountersRepository } from './store/counters.js'

/** What the throttle says about one login attempt. */
export type LoginAttempt =
  | {
    allowed: true
    /**
     * Un-counts this attempt. Call it when the password proved right, or was never checked
     * (the hasher was busy, the database failed): only wrong passwords count.
     */
    release: () => Promise<void>
  }
  | { allowed: false, retryAfterSeconds: number }

/**
 * Failed password attempts per (username, client address) in a sliding window (API.md "Tokens").
 * Async, so that a store shared by several processes (Redis, PostgreSQL) can implement it.
 */
export interface LoginThrottle {
  /**
   * Counts an attempt as failed before the password is checked, so that parallel guesses cannot
   * overrun the limit while their hashes run; the caller releases it when it was no failure.
   * Refused (and not counted) when `max` failures already lie in the window.
   */
  attempt (username: string, address: string): Promise<LoginAttempt>
}

export interface LoginThrottleOptions {
  max: number
  windowSeconds: number
  /** Milliseconds since the epoch. */
  now: () => number
  /** Keys kept at most; past it the key whose last failure is oldest is dropped. */
  maxKeys?: number
}

export interface MemoryLoginThrottle extends LoginThrottle {
  /** Keys held, for tests of the memory bound. */
  size (): number
}

/**
 * In memory, for one process. Each key holds at most `max` timestamps; keys whose failures have
 * all left the window are swept once per window, and `maxKeys` caps what an attacker spreading
 * guesses over many usernames can make it hold.
 */
export function createLoginThrottle ({ max, windowSeconds, now, maxKeys = 100_000 }: LoginThrottleOptions): MemoryLoginThrottle {
  const windowMs = windowSeconds * 1000
  // Map order is the order of last failure: re-inserted on every count.
  const failures = new Map<string, number[]>()
  let lastSweep = now()

  function live (key: string, at: number): number[] {
    const times = (failures.get(key) ?? []).filter((time) => time > at - windowMs)
    if (times.length === 0) failures.delete(key)
    return times
  }

  function sweep (at: number): void {
    if (at - lastSweep < windowMs) return
    lastSweep = at
    for (const [key, times] of failures) {
      if ((times.at(-1) as number) <= at - windowMs) failures.delete(key)
    }
  }

  return {
    async attempt (username, address) {
      const at = now()
      sweep(at)
      // JSON keeps the pair unambiguous whatever characters the username holds.
      const key = JSON.stringify([address, username])
      const times = live(key, at)
      if (times.length >= max) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((times[0] as number) + windowMs - at) / 1000)) }
      }
      times.push(at)
      failures.delete(key)
      if (failures.size >= maxKeys) failures.delete(failures.keys().next().value as string)
      failures.set(key, times)
      return admitted(() => {
        const current = failures.get(key) ?? []
        // Equal timestamps are interchangeable: removing any one of them un-counts this attempt.
        const index = current.lastIndexOf(at)
        if (index === -1) return
        current.splice(index, 1)
        if (current.length === 0) failures.delete(key)
      })
    },
    size: () => failures.size
  }
}

export interface SharedLoginThrottleOptions {
  /** The database's counters (PostgreSQL mode), one row per key. */
  counters: CountersRepository
  max: number
  windowSeconds: number
  /** Milliseconds since the epoch. */
  now: () => number
}

/**
 * In the database, for every instance on it (API.md "Several instances": LOGIN_MAX_FAILURES counts
 * across all instances). The same sliding window as in memory, counted by one atomic statement per
 * attempt; keys whose failures left the window are pruned once per window by whichever instance
 * notices first.
 */
export function createSharedLoginThrottle ({ counters, max, windowSeconds, now }: SharedLoginThrottleOptions): LoginThrottle {
  const windowMs = windowSeconds * 1000
  let lastPrune = now()
  return {
    async attempt (username, address) {
      const at = now()
      if (at - lastPrune >= windowMs) {
        lastPrune = at
        await counters.prune(at)
      }
      const key = JSON.stringify([address, username])
      const { counted, oldest } = await counters.countFailure(key, at, max, windowMs)
      if (!counted) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - at) / 1000)) }
      return admitted(async () => { await counters.uncountFailure(key, at) })
    }
  }
}

/** An allowed attempt whose release un-counts it once, however often it is called. */
function admitted (uncount: () => void | Promise<void>): { allowed: true, release: () => Promise<void> } {
  let released = false
  return {
    allowed: true,
    async release () {
      if (released) return
      released = true
      await uncount()
    }
  }
}
