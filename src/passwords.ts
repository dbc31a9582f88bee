import { availableParallelism } from 'node:os'
import { randomBytes } from 'node:crypto'
import argon2 from 'argon2'
import bcrypt from 'bcrypt'

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

/** What a refused password check is answered with, besides its 503. */
export const HASHER_BUSY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '1' })

/** 503 with Retry-After: the queue is full, or a check waited its longest for a slot. */
export class HasherBusyError extends Error {
  readonly statusCode = 503
  readonly headers = HASHER_BUSY_HEADERS
  constructor () {
    super('Too many password checks are waiting')
    this.name = 'HasherBusyError'
  }
}

export interface PasswordHasher {
  hash (password: string): Promise<string>
  /** False for a wrong password or a hash this server cannot read; HasherBusyError when the queue is full. */
  verify (hash: string, password: string): Promise<boolean>
  /** Spends the same work as verify() on a user that does not exist, so timing does not tell. */
  verifyDummy (password: string): Promise<false>
  needsRehash (hash: string): boolean
  /** True while every slot runs and the queue is full: a new check would be refused. */
  saturated (): boolean
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
}

/**
 * argon2 runs on libuv's thread pool, off the event loop. The slots bound how many run at
 * once and the queue bounds how many wait, so a login storm is shed (503) instead of
 * growing memory and latency without bound.
 */
export function createPasswordHasher ({
  cost = 'owasp', concurrency = defaultHashingSlots(), maxQueued = 1024, maxWaitMs = 1000,
  slotShare = availableParallelism() > 1 ? 1 : 0.5
}: HasherOptions = {}): PasswordHasher {
  const restFactor = 1 / slotShare - 1
  const options: argon2.HashOptions = { type: argon2.argon2id, ...COSTS[cost] }
  const waiting: Array<{ grant: () => void, timer: NodeJS.Timeout }> = []
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

  async function withSlot<T> (work: () => Promise<T>): Promise<T> {
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

  async function verify (hash: string, password: string): Promise<boolean> {
    // bcrypt, like argon2, runs on libuv's thread pool, so it takes a slot too.
    const check = BCRYPT_HASH.test(hash)
      // $2y$ (PHP) is the same algorithm as $2b$, which is the variant the bcrypt library reads.
      ? async () => await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'))
      : hash.startsWith('$argon2') ? async () => await argon2.verify(hash, password) : undefined
    if (check === undefined) return false
    return await withSlot(async () => {
      try {
        return await check()
      } catch {
        return false
      }
    })
  }

  return {
    hash: async (password) => await withSlot(async () => await argon2.hash(password, options)),
    verify,
    async verifyDummy (password) {
      dummyHash ??= argon2.hash(randomBytes(16).toString('hex'), options)
      await verify(await dummyHash, password)
      return false
    },
    needsRehash: (hash) => !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, COSTS[cost]),
    saturated: () => running >= concurrency && waiting.length >= maxQueued
  }
}
