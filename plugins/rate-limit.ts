import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../src/config.js'
import { OAuthError } from '../src/errors.js'

/** The routes that TOKEN_RATE_LIMIT covers (API.md "Running"): where a request can cost a password hash. */
export const RATE_LIMITED_PATHS: readonly string[] = ['/token', '/revoke']

/**
 * Per-address request limit on the token endpoints, successes included, so that argon2 work cannot
 * be used to exhaust the CPU. Applied by path, to whichever plugin declares the route later.
 */
async function tokenRateLimit (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  if (config.tokenRateLimit === 0) return
  // Runs before @fastify/rate-limit's own onRoute hook, which reads config.rateLimit.
  app.addHook('onRoute', (route) => {
    if (RATE_LIMITED_PATHS.includes(route.url)) {
      route.config = { ...route.config, rateLimit: {} }
    }
  })
  await app.register(rateLimit, {
    global: false,
    max: config.tokenRateLimit,
    timeWindow: 60_000,
    // These routes answer RFC 6749 §5.2 bodies; no code fits, and temporarily_unavailable says "come back later".
    errorResponseBuilder: (_request, context) =>
      new OAuthError('temporarily_unavailable', `Too many requests from your address; retry in ${context.after}`, context.statusCode),
    onExceeded: (request) => { request.log.debug({ limit: config.tokenRateLimit }, 'token endpoint rate limit reached') }
  })
}

export default fp(tokenRateLimit, { name: 'rate-limit' })
