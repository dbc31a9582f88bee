import { HasherBusyError } from './passwords.js'
import { isDatabaseFault } from './store/errors.js'

/**
 * RFC 9110 §10.2.3: every 503 says when to come back. One second: a queued password check waits
 * about that long at most (src/passwords.ts, maxWaitMs), and a locked or reconnecting database
 * is usually back within it.
 */
export const RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '1' })

/**
 * A request the server cannot serve now (API.md "Tokens": too many logins wait for the password
 * hasher; "Several instances": the database cannot be reached), answered 503 with Retry-After by
 * both error handlers. Each picks its body's shape: `message` for the root's Fastify shape,
 * `description` for RFC 6749 §5.2's `error_description` at /token and /revoke, where every
 * password operation is a login.
 */
export interface Unavailable {
  readonly statusCode: 503
  readonly headers: Readonly<Record<string, string>>
  /** `busy` is load being shed, worth a warning at most; `database` is a fault, logged with its detail. */
  readonly cause: 'busy' | 'database'
  readonly message: string
  readonly description: string
}

export const HASHER_BUSY: Unavailable = Object.freeze({
  statusCode: 503,
  headers: RETRY_AFTER,
  cause: 'busy',
  message: 'Too many password operations at once; retry shortly',
  description: 'Too many logins at once; retry shortly'
})

/** The 503 that answers `err`, or undefined for any other error. A database fault's words name the request id, for the client to quote. */
export function unavailable (err: unknown, requestId: string): Unavailable | undefined {
  if (err instanceof HasherBusyError) return HASHER_BUSY
  if (!isDatabaseFault(err)) return undefined
  return {
    statusCode: 503,
    headers: RETRY_AFTER,
    cause: 'database',
    message: `Something went wrong; quote request id ${requestId}`,
    description: `The service is unavailable; retry shortly (request id ${requestId})`
  }
}
