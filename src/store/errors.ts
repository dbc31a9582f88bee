/** The database cannot serve: answered 503, not 500 (API.md "Routes", /ready; "Several instances"). */
export class DatabaseUnavailableError extends Error {
  constructor (reason: string) {
    super(`Database unavailable: ${reason}`)
    this.name = 'DatabaseUnavailableError'
  }
}

// SQLite result codes that mean "the database cannot serve now" rather than "this statement is wrong".
const SQLITE_FAULTS = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN|FULL|CORRUPT|NOTADB|PROTOCOL|PERM)/
// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator
// intervention: shutdown, cannot connect now), 58 (system error), 55000 (the database does not
// accept connections), 25006 (read-only transaction: a standby); and the postgres driver's and
// Node's own codes for a connection that is gone or never came.
const POSTGRES_FAULTS = /^(08|53|57P|58|55000$|25006$)/
const CONNECTION_FAULTS = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'
])

/** True for an error that comes from the database being unavailable: locked, read-only, gone, closed, unreachable. */
export function isDatabaseFault (err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    return SQLITE_FAULTS.test(code) || CONNECTION_FAULTS.has(code) || (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_FAULTS.test(code))
  }
  return err instanceof TypeError && err.message === 'The database connection is not open'
}
