/** API.md "Running": the security events, one JSON line each. */
export type SecurityEventName =
  | 'login_succeeded' | 'login_failed' | 'login_throttled' | 'refresh_reused' | 'token_revoked'
  | 'password_changed' | 'user_created' | 'user_updated' | 'user_deleted'

/**
 * What an event may carry. Only these fields exist, so a password, hash or token cannot be passed
 * by mistake: `username` is the account concerned, `actor` who acted on it when that is someone
 * else (an admin), `reason` a fixed word, `changes` the names (never the values) of changed fields.
 */
export interface SecurityEventFields {
  username?: string
  actor?: string
  reason?: 'unknown_user' | 'wrong_password' | 'disabled' | 'wrong_current_password'
  changes?: string[]
  ip?: string
  reqId?: string
}

/** The part of pino's logger events are written with. */
export interface EventLog {
  info (object: object, message: string): void
  warn (object: object, message: string): void
}

// API.md "Running": warn for the two that point at an attack in progress, info for the rest.
const WARN: ReadonlySet<SecurityEventName> = new Set(['login_throttled', 'refresh_reused'])

export type SecurityEvents = (event: SecurityEventName, fields: SecurityEventFields) => void

/**
 * Writes events to `log`, which should be the root logger: a request's child logger may be quieter
 * (a route's logLevel) than the default LOG_LEVEL at which events must be kept.
 */
export function createSecurityEvents (log: EventLog): SecurityEvents {
  return (event, fields) => {
    const line = { event, ...fields }
    if (WARN.has(event)) log.warn(line, 'security event')
    else log.info(line, 'security event')
  }
}
