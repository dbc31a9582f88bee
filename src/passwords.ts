import { availableParallelism } from 'node:os'
import { randomBytes } from 'node:crypto'
import argon2 from 'argon2'
import bcrypt from 'bcrypt'
import { createTimingFloor, type TimingFloor } from './timing-floor.js'

/** 'owasp': argon2id at OWASP's minimum (19 MiB, t=2, p=1). 'test': the cheapest argon2id, for test speed only. */
export type HashCost = 'owasp' | 'test'

const COSTS = {
  owasp: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
  test: { memoryCost: 8, timeCost: 1, parallelism: 1 }
} as const

// passlib's and OpenBSD's bcrypt ($2b$, also $2a$ and $2y$): users imported from FastAPI keep them until their first login.
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/
const ARGON2ID_HASH = /^\$argon2id\$v=\d+\$[a-z]=\d+(,[a-z]=\d+)*\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/

/** A hash that verify() can check: argon2id, or bcrypt as passlib writes it. */
export function isSupportedHash (hash: string): boolean {
  return ARGON2ID_HASH.test(hash) || BCRYPT_HASH.test(hash)
}

/**
 * The most one stored hash may cost to verify. One verification holds a hashing slot (a thread
 * of libuv's pool) for its whole run and argon2 allocates its memory up front. Measured here on a
 * loaded machine: bcrypt cost 12 verifies in 0.4 s, cost 14 in 1.8 s, and each step doubles it;
 * argon2id at 1 GiB would take a gigabyte per concurrent login.
 */
export const HASH_COST_LIMITS = Object.freeze({ bcryptCost: 14, argon2MemoryKiB: 256 * 1024, argon2Time: 10, argon2Parallelism: 8 })

/** Why a supported hash would cost too much to verify, or undefined when it is within HASH_COST_LIMITS. */
export function hashCostProblem (hash: string): string | undefined {
  const bcryptCost = BCRYPT_HASH.exec(hash)?.[1]
  if (bcryptCost !== undefined) {
    return Number(bcryptCost) > HASH_COST_LIMITS.bcryptCost
      ? `bcrypt cost ${Number(bcryptCost)} is above ${HASH_COST_LIMITS.bcryptCost}`
      : undefined
  }
  // A parameter that is absent reads as 0: argon2 could not verify such a hash either.
  const param = (name: string): number => Number(new RegExp(`[$,]${name}=(\\d+)`).exec(hash)?.[1] ?? 0)
  const [memory, time, parallelism] = [param('m'), param('t'), param('p')]
  if (memory > HASH_COST_LIMITS.argon2MemoryKiB) {
    return `argon2 memory m=${memory} KiB is above ${HASH_COST_LIMITS.argon2MemoryKiB} (256 MiB)`
  }
  if (time < 1 || time > HASH_COST_LIMITS.argon2Time) return `argon2 time cost t=${time} is outside 1..${HASH_COST_LIMITS.argon2Time}`
  if (parallelism < 1 || parallelism > HASH_COST_LIMITS.argon2Parallelism) {
    return `argon2 parallelism p=${parallelism} is outside 1..${HASH_COST_LIMITS.argon2Parallelism}`
  }
  return undefined
}

/**
 * What a hash costs to verify: its algorithm and parameters, without salt and digest
 * (`bcrypt$12`, `argon2id$v=19$m=19456,t=2,p=1`); undefined for a hash verify() cannot read.
 */
export function hashKind (hash: string): string | undefined {
  const bcryptCost = BCRYPT_HASH.exec(hash)?.[1]
  if (bcryptCost !== undefined) return `bcrypt$${bcryptCost}`
  return hash.startsWith('$argon2') ? hash.split('$').slice(1, 4).join('$') : undefined
}

/** The queue is full, or a check waited its longest for a slot: answered 503 with Retry-After (src/unavailable.ts). */
export class HasherBusyError extends Error {
  constructor () {
    super('Too many password checks are waiting')
    this.name = 'HasherBusyError'
  }
}

/**
 * `client` (clientKey of the address) names who asks: one client holds at most `maxPerClient`
 * places, running or queued, so it cannot fill the queue in front of everyone else's logins.
 */
export interface PasswordHasher {
  hash (password: string, client?: string): Promise<string>
  /**
   * False for a wrong password or a hash this server cannot read, answered no earlier than the
   * timing floor (src/timing-floor.ts) after the hashing began; HasherBusyError when the queue,
   * or the client's share of it, is full.
   */
  verify (hash: string, password: string, client?: string): Promise<boolean>
  /** A real argon2id verification for a user that does not exist, answered like a wrong password. */
  verifyDummy (password: string, client?: string): Promise<false>
  needsRehash (hash: string): boolean
  /** True while every slot runs and the queue is full, or the client holds its whole share: a new check would be refused. */
  saturated (client?: string): boolean
  /**
   * Measures each kind of hash among `hashes` not measured yet, and the dummy, with a wrong
   * password, so that the timing floor covers the kinds stored before the first login does.
   */
  calibrate (hashes: Iterable<string>): Promise<void>
  /** Milliseconds a failed check takes at least: the slowest kind of hash measured. */
  failureFloorMs (): number
  /** Slots in use and hashes waiting for one, now: read when metrics are scraped (src/metrics.ts). */
  load (): { running: number, queued: number }
}

/** libuv's thread pool size: UV_THREADPOOL_SIZE, else its default of 4 (what `npm start` sets is in main.cts). */
export function threadPoolSize (env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE)
  return Number.isInteger(size) && size > 0 ? size : 4
}

/** One hashing slot per core, but always one pool thread left for fs, dns and zlib. */
export function defaultHashingSlots (poolSize = threadPoolSize(), cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, poolSize - 1))
}

export interface HasherOptions {
  cost?: HashCost
  /** Hashes running at once on libuv's thread pool (defaultHashingSlots()). */
  concurrency?: number
  /**
   * Hashes waiting for a slot before new ones are refused at once with HasherBusyError (1024). The
   * wait is bounded by maxWaitMs, so this bounds only memory: a waiting login holds a few kB.
   */
  maxQueued?: number
  /**
   * Milliseconds a hash waits for a slot before it is refused with HasherBusyError (1000, the
   * Retry-After it is answered with). Waiting, not an immediate refusal, is what slows a client
   * that ignores Retry-After: it cannot send its next login until this one is answered.
   */
  maxWaitMs?: number
  /**
   * The share of its time a slot may spend hashing: after a hash of d ms the slot rests
   * d × (1/share − 1) ms. Default 1 (no rest), but 0.5 on a one-core machine, where a hashing
   * thread would otherwise take half the core from the event loop during a login storm.
   */
  slotShare?: number
  /** Places (running or queued) one client may hold at once; past it, HasherBusyError at once (2 × concurrency, at least 2). */
  maxPerClient?: number
  /** The timing floor of failed checks (createTimingFloor()); tests give one a fake clock and sleep. */
  timing?: TimingFloor
}

/**
 * argon2 runs on libuv's thread pool, off the event loop. The slots bound how many run at
 * once and the queue bounds how many wait, so a login storm is shed (503) instead of
 * growing memory and latency without bound.
 */
export function createPasswordHasher ({
  cost = 'owasp', concurrency = defaultHashingSlots(), maxQueued = 1024, maxWaitMs = 1000,
  slotShare = availableParallelism() > 1 ? 1 : 0.5, maxPerClient = Math.max(2, 2 * concurrency), timing = createTimingFloor()
}: HasherOptions = {}): PasswordHasher {
  const restFactor = 1 / slotShare - 1
  const options: argon2.HashOptions = { type: argon2.argon2id, ...COSTS[cost] }
  const waiting: Array<{ grant: () => void, timer: NodeJS.Timeout }> = []
  // Places held per client; a client is deleted when it holds none, so the map stays as small as the queue.
  const held = new Map<string, number>()
  let running = 0
  let dummyHash: Promise<string> | undefined

  function waitForSlot (): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(waiter.timer)
          resolve()
        },
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1)
          reject(new HasherBusyError())
        }, maxWaitMs)
      }
      waiting.push(waiter)
    })
  }

  async function withSlot<T> (work: () => Promise<T>, client: string | undefined): Promise<T> {
    if (client !== undefined) {
      const places = held.get(client) ?? 0
      if (places >= maxPerClient) throw new HasherBusyError()
      held.set(client, places + 1)
    }
    try {
      return await inSlot(work)
    } finally {
      if (client !== undefined) {
        const places = held.get(client) as number
        if (places > 1) held.set(client, places - 1)
        else held.delete(client)
      }
    }
  }

  async function inSlot<T> (work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= maxQueued) throw new HasherBusyError()
      await waitForSlot()
    } else {
      running++
    }
    const started = performance.now()
    try {
      return await work()
    } finally {
      const rest = (performance.now() - started) * restFactor
      if (rest > 0) setTimeout(release, rest).unref()
      else release()
    }
  }

  function release (): void {
    const next = waiting.shift()
    // The slot passes straight to the next waiter, so `running` stays the same.
    if (next === undefined) running--
    else next.grant()
  }

  /** The check itself, timed from the moment it holds a slot: queueing is not part of a hash's cost. */
  async function timedVerify (hash: string, password: string, client: string | undefined): Promise<{ valid: boolean, started: number }> {
    const kind = hashKind(hash)
    let started = timing.clock()
    if (kind === undefined) return { valid: false, started }
    // bcrypt, like argon2, runs on libuv's thread pool, so it takes a slot too.
    const check = kind.startsWith('bcrypt')
      // $2y$ (PHP) is the same algorithm as $2b$, which is the variant the bcrypt library reads.
      ? async () => await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'))
      : async () => await argon2.verify(hash, password)
    const valid = await withSlot(async () => {
      started = timing.clock()
      try {
        return await check()
      } catch {
        return false
      } finally {
        timing.record(kind, timing.clock() - started)
      }
    }, client)
    return { valid, started }
  }

  async function verify (hash: string, password: string, client?: string): Promise<boolean> {
    const { valid, started } = await timedVerify(hash, password, client)
    // The slot is already free: the rest of the floor is a timer.
    if (!valid) await timing.hold(started)
    return valid
  }

  async function dummy (): Promise<string> {
    dummyHash ??= argon2.hash(randomBytes(16).toString('hex'), options)
    return await dummyHash
  }

  return {
    hash: async (password, client) => await withSlot(async () => await argon2.hash(password, options), client),
    verify,
    async verifyDummy (password, client) {
      await verify(await dummy(), password, client)
      return false
    },
    needsRehash: (hash) => !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, COSTS[cost]),
    saturated: (client) => (running >= concurrency && waiting.length >= maxQueued) ||
      (client !== undefined && (held.get(client) ?? 0) >= maxPerClient),
    async calibrate (hashes) {
      const unmeasured = new Map<string, string>()
      for (const hash of [await dummy(), ...hashes]) {
        const kind = hashKind(hash)
        if (kind !== undefined && !timing.has(kind)) unmeasured.set(kind, hash)
      }
      // One at a time and never waiting for the floor: this runs once, at start.
      for (const hash of unmeasured.values()) await timedVerify(hash, randomBytes(16).toString('hex'), undefined)
    },
    failureFloorMs: () => timing.floorMs(),
    load: () => ({ running, queued: waiting.length })
  }
}
