/**
 * What the logs must never hold: credentials in headers, passwords and tokens in any object a log
 * call is given (one level deep), and in query strings.
 */
const SECRET_FIELDS: readonly string[] = [
  'password', 'current_password', 'new_password', 'access_token', 'refresh_token', 'token', 'client_secret'
]

/** pino's redaction paths: the credential headers, and the secret fields at the top of a log object. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]',
  ...SECRET_FIELDS
]

export const REDACTED = '[redacted]'

/**
 * pino's `formatters.log`: the secret fields one level down (`{ body: { password } }`). Not a `*.password`
 * redaction path: with a path that starts with `*`, pino runs its redactor on every child logger's
 * bindings, and Fastify makes a child logger for every request.
 */
export function redactNestedSecrets (object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(object)) {
    const value = object[key]
    if (value === null || typeof value !== 'object' || !SECRET_FIELDS.some((field) => Object.hasOwn(value, field))) continue
    const censored: Record<string, unknown> = { ...value }
    for (const field of SECRET_FIELDS) if (Object.hasOwn(censored, field)) censored[field] = REDACTED
    copy ??= { ...object }
    copy[key] = censored
  }
  return copy ?? object
}

// RFC 6750 §2.3 allows access_token in a query; some clients also put credentials there by mistake.
const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_FIELDS.join('|')})=)[^&#]*`, 'gi')

/** The URL with the values of credential parameters replaced. */
export function scrubUrl (url: string): string {
  // Every request's URL passes here (the access line); most have no parameter value to scrub.
  if (!url.includes('=')) return url
  return url.replace(SECRET_QUERY, `$1${REDACTED}`)
}

interface LoggedRequest {
  method: string
  url: string
  host: string
  ip: string
  socket?: { remotePort?: number }
}

/** Fastify's request serializer, less the query string's secrets. */
export function serializeRequest (request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: scrubUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}
