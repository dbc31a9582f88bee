import { TokenClaimsError, timeProblem, type VerifiedToken } from './tokens.js'

/**
 * Access tokens whose signature and claims verified, kept parsed so that the guard of every
 * protected request (API.md "Authentication and authorization") skips the JWT library.
 * Signature, alg, typ, iss, aud and the claims' shapes cannot change, so a hit re-checks only the
 * time (`iat`, `exp`) against the app's clock; user state and revocation are the caller's to check,
 * every request.
 */
export interface VerifiedTokenCache {
  /**
   * For an Authorization header that is exactly "Bearer <a kept token>", that token; undefined for
   * any other header, which the caller parses (other spellings of the scheme find the token through
   * `get`). Throws a TokenClaimsError when the kept token's time checks now fail.
   */
  fromHeader (header: string): VerifiedToken | undefined
  /** The kept token equal to `token`, or undefined. Throws as fromHeader does. */
  get (token: string): VerifiedToken | undefined
  /**
   * Keeps a token that just verified in full. At `max` tokens the new token is not kept (it is
   * verified in full each time it comes) until tokens nobody presents make room (see `idleMs`).
   */
  remember (token: string, verified: VerifiedToken): void
  /** Tokens kept, for tests of the bound. */
  size (): number
  /**
   * Since the start: lookups that found a kept token (whose time is then checked again), and `get`s
   * that found none, so the token was verified in full. A header that fromHeader does not find is
   * counted by the `get` that follows, if any. Read when metrics are scraped (src/metrics.ts).
   */
  counts (): { hits: number, misses: number }
}

export interface VerifiedTokenCacheOptions {
  /** Tokens kept at most. */
  max: number
  /**
   * A kept token that nobody presents for this long is dropped before twice this long has passed:
   * the cache keeps the tokens in use, not every token it ever verified.
   */
  idleMs: number
  /** Milliseconds since the epoch: the app's clock (the `now` seam). */
  now: () => number
}

/**
 * How many last characters of a token (the end of its signature) find it; the token is then
 * compared whole. Keyed by the whole token, the Map hashed its 300-400 characters on every request:
 * about 0.7 µs of the guard's 4 µs in the profile; this short key plus one comparison cost about
 * 0.2 µs. Tokens that share these characters collide at worst into a miss.
 */
export const KEY_LENGTH = 24

interface Entry {
  /**
   * "Bearer <token>" as one flat string, so that the request's header is compared with it in one
   * memory comparison; comparing the header's slice after "Bearer " with the token walked both
   * strings through V8's slow path. With this, the load benchmark's profile puts the guard's own
   * frames at about 3 µs a request. The token is its end: `get` compares that, so it is not kept twice.
   */
  header: string
  verified: VerifiedToken
}

const SCHEME = 'Bearer '

/**
 * One per app; module scope holds nothing (STYLE.md rule 2).
 *
 * Why a full map keeps what it holds rather than dropping its oldest: clients present their tokens
 * in turn, and a map that drops its oldest entry for each new one, under more tokens in use than it
 * holds, drops every token before it comes back (the load benchmark's 20,000 users: 0 hits). A
 * full map that keeps its tokens while they are in use serves max/N of N tokens in use from memory.
 *
 * Tokens live in two generations: those presented in the current turn of `idleMs`, and those
 * presented in the one before only. Each turn drops the older generation, so room comes from tokens
 * nobody presents (abandoned at refresh, or expired), and a token in use costs one move a turn.
 */
export function createVerifiedTokenCache ({ max, idleMs, now }: VerifiedTokenCacheOptions): VerifiedTokenCache {
  let current = new Map<string, Entry>()
  let previous = new Map<string, Entry>()
  let turnEndsAt = now() + idleMs
  // Plain numbers: the lookups are on every protected request's path, the metrics read them only when scraped.
  let hits = 0
  let misses = 0

  /** The entry under `key`, moved into the current generation; a turn that has ended turns over first. */
  function find (key: string, nowMs: number): Entry | undefined {
    if (nowMs >= turnEndsAt) {
      // After a whole idle turn, the current generation too has gone unpresented for a turn.
      previous = nowMs >= turnEndsAt + idleMs ? new Map() : current
      current = new Map()
      turnEndsAt = nowMs + idleMs
    }
    const entry = current.get(key)
    if (entry !== undefined) return entry
    const earlier = previous.get(key)
    if (earlier !== undefined) {
      previous.delete(key)
      current.set(key, earlier)
    }
    return earlier
  }

  function stillValid (verified: VerifiedToken, nowMs: number): VerifiedToken {
    const problem = timeProblem(verified, Math.floor(nowMs / 1000))
    if (problem !== undefined) throw new TokenClaimsError(problem)
    return verified
  }

  return {
    fromHeader (header) {
      const nowMs = now()
      const entry = find(header.slice(-KEY_LENGTH), nowMs)
      if (entry === undefined || entry.header !== header) return undefined
      hits++
      return stillValid(entry.verified, nowMs)
    },
    get (token) {
      const nowMs = now()
      const entry = find(token.slice(-KEY_LENGTH), nowMs)
      if (entry === undefined || entry.header.length !== SCHEME.length + token.length || !entry.header.endsWith(token)) {
        misses++
        return undefined
      }
      hits++
      return stillValid(entry.verified, nowMs)
    },
    remember (token, verified) {
      const key = token.slice(-KEY_LENGTH)
      // Checked before the copy below: with the map full, every token not kept comes here on every request.
      if (current.size + previous.size >= max && !current.has(key) && !previous.has(key)) return
      // Verified tokens are base64url and dots, so latin1 keeps them as they are, in a flat one-byte string.
      const header = Buffer.from(`${SCHEME}${token}`, 'latin1').toString('latin1')
      previous.delete(key)
      // Sliced from the kept header: a key sliced from the request's header would keep that string alive too.
      current.set(header.slice(-KEY_LENGTH), { header, verified })
    },
    size () {
      return current.size + previous.size
    },
    counts: () => ({ hits, misses })
  }
}
