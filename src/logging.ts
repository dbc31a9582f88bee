/**
 * What the logs must never hold: credentials in headers, passwords and tokens in any object a log
 * call is given (one level deep, as pino's redaction paths go), and in query strings.
 */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]',
  ...['password', 'current_password', 'new_password', 'access_token', 'refresh_token', 'token', 'client_secret']
    .flatMap((field) => [field, `*.${field}`])
]

export const REDACTED = '[redacted]'

// RFC 6750 §2.3 allows access_token in a query; some clients also put credentials there by mistake.
const SECRET_QUERY = /([?&](?:password|current_password|new_password|access_token|refresh_token|token|client_secret)=)[^&#]*/gi

/** The URL with the values of credential parameters replaced. */
export function scrubUrl (url: string): string {
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
  return { method: request.method, url: scrubUrl(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
}
