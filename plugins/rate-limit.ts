import fp from 'fastify-plugin'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../src/config.js'
import { clientKey } from '../src/client-address.js'
import { OAuthError } from '../src/errors.js'
import { countedRateLimitStore, sharedRateLimitStore } from '../src/rate-limit-store.js'
import type { PostgresStore } from '../src/store/store.js'

/** `config.rateLimit` of /token and /revoke: TOKEN_RATE_LIMIT is one budget per address for both (API.md "Tokens", `/revoke`). */
export const TOKEN_ENDPOINTS: RateLimitOptions = Object.freeze({ groupId: 'token-endpoints' })

/**
 * `config.rateLimit` of the other routes that hash a password (PUT /users/me/password, POST /users,
 * PATCH /users/:username): TOKEN_RATE_LIMIT again, in a budget of their own, so that changing
 * passwords cannot spend an address's logins, nor the other way round.
 */
export const PASSWORD_WRITES: RateLimitOptions = Object.freeze({ groupId: 'password-writes' })

/**
 * Per-address request limits, successes included, on the routes that declare `config.rateLimit`:
 * each request there can cost a password hash, which is the cheapest way to exhaust the CPU.
 * With TOKEN_RATE_LIMIT=0 nothing is registered and the declarations are inert.
 */
export interface RateLimitPluginOptions {
  config: Config
  /** Milliseconds since the epoch (buildApp's clock). */
  now: () => number
}

async function requestRateLimit (app: FastifyInstance, { config, now }: RateLimitPluginOptions): Promise<void> {
  if (config.tokenRateLimit === 0) return
  await app.register(rateLimit, {
    global: false,
    max: config.tokenRateLimit,
    timeWindow: 60_000,
    // The same key as the login throttle: an IPv6 client by its /64 (issue 12.10).
    keyGenerator: (request) => clientKey(request.ip),
    // On PostgreSQL (DATABASE_URL) counted in the database, across every instance on it (API.md
    // "Several instances"). The store opens later (plugins/db.ts); it is read when requests count.
    store: config.databaseUrl === undefined
      ? sharedRateLimitStore({ now })
      : countedRateLimitStore({ counters: () => (app.store as PostgresStore).counters, now }),
    // /token and /revoke answer RFC 6749 §5.2 bodies (no code fits; temporarily_unavailable says "come
    // back later"); the root error handler gives the same error Fastify's shape elsewhere.
    errorResponseBuilder: (_request, context) =>
      new OAuthError('temporarily_unavailable', `Too many requests from your address; retry in ${context.after}`, context.statusCode),
    onExceeded: (request) => { request.log.debug({ limit: config.tokenRateLimit }, 'request rate limit reached') }
  })
}

export default fp(requestRateLimit, { name: 'rate-limit' })
