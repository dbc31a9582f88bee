/** An error that becomes an HTTP answer in Fastify's `{statusCode, error, message}` shape. */
export class HttpError extends Error {
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor (statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.headers = headers
  }
}

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'

/** An RFC 6749 §5.2 error: answered as `{error, error_description}` by routes/oauth.ts. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor (error: OAuthErrorCode, description: string, statusCode = 400, headers: Record<string, string> = {}) {
    super(description)
    this.name = 'OAuthError'
    this.error = error
    this.statusCode = statusCode
    this.headers = headers
  }
}
