import pino from 'pino'

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

/** What the access line says of one request (plugins/access-log.ts). */
export interface AccessEntry {
  reqId: string
  method: string
  /** Already scrubbed. */
  url: string
  /** Undefined when no route matched. */
  route: string | undefined
  statusCode: number
  /** Milliseconds. */
  responseTime: number
  /** Undefined when no token named a user. */
  user: string | undefined
}

/** The parts of a pino logger the access line is built from: pino.symbols, exported for libraries such as this. */
interface PinoInternals {
  info (object: object, message: string): void
  [pino.symbols.lsCacheSym]: Record<number, string>
  [pino.symbols.timeSym]: () => string
  [pino.symbols.chindingsSym]: string
  [pino.symbols.messageKeySym]: string
  [pino.symbols.endSym]: string
  [pino.symbols.streamSym]: { write (line: string): void, [pino.symbols.needsMetadataGsym]?: boolean }
}

const ACCESS_MESSAGE = 'request completed'
// Printable ASCII but `"` and `\`: such a string is its own JSON body.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

function quote (text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text)
}

/**
 * Writes the access line at info through `logger`, the same bytes its `info(entry, 'request completed')`
 * would write with the options buildApp gives pino: pino's level, time and bindings, then the entry's
 * defined fields in order, then the message. Built here because pino's generic path (serializers,
 * redaction, formatters and escaping for any object) cost about 23k instructions a line under
 * callgrind, a tenth of a whole GET /admin-only; none of it applies to these fields, which hold no
 * secret. A stream that needs pino's metadata (pino.multistream) gets the line through pino.
 */
export function writeAccessLine (logger: object, entry: AccessEntry): void {
  const log = logger as PinoInternals
  const stream = log[pino.symbols.streamSym]
  if (stream[pino.symbols.needsMetadataGsym] === true) return log.info(entry, ACCESS_MESSAGE)
  let line = `${log[pino.symbols.lsCacheSym][30]}${log[pino.symbols.timeSym]()}${log[pino.symbols.chindingsSym]}` +
    `,"reqId":${quote(entry.reqId)},"method":${quote(entry.method)},"url":${quote(entry.url)}`
  if (entry.route !== undefined) line += `,"route":${quote(entry.route)}`
  line += `,"statusCode":${entry.statusCode},"responseTime":${entry.responseTime}`
  if (entry.user !== undefined) line += `,"user":${quote(entry.user)}`
  stream.write(`${line},"${log[pino.symbols.messageKeySym]}":"${ACCESS_MESSAGE}"${log[pino.symbols.endSym]}`)
}
