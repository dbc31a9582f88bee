import formbody from '@fastify/formbody'
import { parse as parseQueryString } from 'fast-querystring'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyRequest, onRequestHookHandler } from 'fastify'
import { HttpError, OAuthError, type OAuthErrorCode } from '../src/errors.js'
import { HASHER_BUSY, unavailable } from '../src/unavailable.js'
import { resolveScopes, tokenResponse } from '../src/oauth.js'
import {
  OAuthErrorSchema, RevokeRequestSchema, RevokeResponseSchema, TokenRequestSchema, TokenResponseSchema,
  type TokenRequest, type TokenResponse
} from '../src/schemas/oauth.js'
import { clientKey } from '../src/client-address.js'
import { REUSED, type Refreshed } from '../src/logins.js'
import { hashRefreshToken, type VerifiedToken } from '../src/tokens.js'
import { TOKEN_ENDPOINTS } from '../plugins/rate-limit.js'

// RFC 6749 §5.1: token answers, errors included, must not be cached.
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

// RFC 6749 §5.2: every error answered here, in this shape.
type ErrorCode = OAuthErrorCode | 'server_error'
const errorBody = (error: ErrorCode, description: string) => ({ error, error_description: description })

function required (body: TokenRequest, field: 'username' | 'password' | 'refresh_token'): string {
  const value = body[field]
  if (value === undefined || value === '') throw new OAuthError('invalid_request', `The ${field} field is required`)
  return value
}

/**
 * formbody's own parser (fast-querystring) keeps a broken %-escape as text, so `password=%ZZ` would
 * be checked as a password. RFC 6749 §5.2 calls such a request malformed: invalid_request.
 */
function parseForm (body: string): Record<string, unknown> {
  try {
    decodeURIComponent(body.replaceAll('+', ' '))
  } catch {
    throw new HttpError(400, 'The form has an invalid percent-encoding')
  }
  return parseQueryString(body)
}

/**
 * RFC 6749 token endpoint. Encapsulated: only here do form bodies parse (JSON gets 415), and
 * errors take the RFC 6749 §5.2 shape instead of Fastify's.
 */
const oauth: FastifyPluginAsyncTypebox = async (app) => {
  app.removeAllContentTypeParsers()
  await app.register(formbody, { parser: parseForm })

  app.addHook('onSend', async (_request, reply) => { reply.headers(NO_STORE) })

  // Under a login storm, shed before the body is read or the database is touched: shedding must
  // cost far less than the work it refuses, so the answer is written once, here, and sent as text.
  const shedBody = JSON.stringify(errorBody('temporarily_unavailable', HASHER_BUSY.description))
  const shedWhenSaturated: onRequestHookHandler = (request, reply, done) => {
    if (!app.passwords.saturated(clientKey(request.ip))) return done()
    reply.code(HASHER_BUSY.statusCode).headers(HASHER_BUSY.headers).type('application/json; charset=utf-8').send(shedBody)
  }

  app.setErrorHandler((err: FastifyError & { error?: string, headers?: Record<string, string> }, request, reply) => {
    if (err instanceof OAuthError) {
      request.log.debug({ error: err.error, reason: err.message }, 'token request refused')
      return reply.code(err.statusCode).headers(err.headers).send(errorBody(err.error, err.message))
    }
    // The same 503s as the root handler (plugins/errors.ts), in this body's shape.
    const refused = unavailable(err, request.id)
    if (refused !== undefined) {
      if (refused.cause === 'database') request.log.error({ err }, 'token request failed: database unavailable')
      return reply.code(refused.statusCode).headers(refused.headers).send(errorBody('temporarily_unavailable', refused.description))
    }
    const statusCode = err.statusCode ?? 500
    if (statusCode < 500) {
      // Validation (a repeated or too long field), a media type other than a form (415), a body too large (413).
      const description = err.validation !== undefined ? `Invalid field: ${err.message}` : err.message
      return reply.code(statusCode).send(errorBody('invalid_request', description))
    }
    request.log.error({ err }, 'token request failed')
    return reply.code(500).send(errorBody('server_error', `Something went wrong; quote request id ${request.id}`))
  })

  async function passwordGrant (body: TokenRequest, request: FastifyRequest): Promise<TokenResponse> {
    const username = required(body, 'username')
    const password = required(body, 'password')
    // Throttled per username and client before any hashing; only wrong passwords count (API.md "Tokens").
    const user = await app.credentials.check(request, username, password, 'login')
    if (user === undefined) throw new OAuthError('invalid_grant', 'Wrong username or password')
    if (user.disabled) {
      app.securityEvent(request, 'login_failed', { username, reason: 'disabled' })
      throw new OAuthError('invalid_grant', 'This user is disabled')
    }
    const scopes = resolveScopes(body.scope, user.roles)
    if (app.passwords.needsRehash(user.password_hash)) {
      await app.users.replaceHash(username, user.password_hash, await app.passwords.hash(password, clientKey(request.ip)))
    }
    const login = await app.logins.start(user, scopes)
    const response = tokenResponse(app.tokens, { user, scopes, ...login })
    app.securityEvent(request, 'login_succeeded', { username })
    return response
  }

  // RFC 6749 §6, with rotation and reuse detection (API.md "Refresh token").
  async function refreshGrant (body: TokenRequest, request: FastifyRequest): Promise<TokenResponse> {
    const presented = required(body, 'refresh_token')
    let refreshed: Refreshed
    try {
      refreshed = await app.logins.refresh(presented, body.scope)
    } catch (err) {
      if (err instanceof OAuthError && err.message === REUSED) {
        // The login is revoked by now; its stored row still names whose it was.
        const stored = await app.refreshTokens.find(hashRefreshToken(presented))
        app.securityEvent(request, 'refresh_reused', { username: stored?.username })
      }
      throw err
    }
    return tokenResponse(app.tokens, refreshed)
  }

  /**
   * RFC 7009 §2.1: either kind of token revokes its login. The two kinds cannot be mistaken: only a
   * JWT has dots. The username of the login revoked, if any.
   */
  async function revoke (token: string): Promise<string | undefined> {
    if (!token.includes('.')) {
      const stored = await app.refreshTokens.find(hashRefreshToken(token))
      if (stored === undefined) return undefined
      await app.logins.revokeLogin(stored.family_id)
      return stored.username
    }
    let verified: VerifiedToken | undefined
    try {
      verified = app.tokens.verifyAccessToken(token)
    } catch {
      // §2.2: an invalid token is no error; there is nothing to revoke.
      return undefined
    }
    await app.logins.revokeLogin(verified.loginId)
    return verified.sub
  }

  app.post('/token', {
    onRequest: shedWhenSaturated,
    config: { public: true, rateLimit: TOKEN_ENDPOINTS },
    schema: {
      summary: 'Get an access token (OAuth 2.0 password or refresh_token grant)',
      description: 'RFC 6749 §4.3 and §6. Send `application/x-www-form-urlencoded`. Client credentials are not needed and are ignored. ' +
        'Each refresh token works once and the answer carries its successor; presenting a used one revokes the whole login.',
      tags: ['oauth'],
      consumes: ['application/x-www-form-urlencoded'],
      body: TokenRequestSchema,
      response: { 200: TokenResponseSchema, 400: OAuthErrorSchema, 415: OAuthErrorSchema, 429: OAuthErrorSchema, 503: OAuthErrorSchema }
    }
  }, async (request) => {
    const grantType = request.body.grant_type ?? 'password'
    if (grantType === 'password') return await passwordGrant(request.body, request)
    if (grantType === 'refresh_token') return await refreshGrant(request.body, request)
    throw new OAuthError('unsupported_grant_type', `Grant type "${grantType}" is not supported`)
  })

  app.post('/revoke', {
    config: { public: true, rateLimit: TOKEN_ENDPOINTS },
    schema: {
      summary: 'Revoke a token (OAuth 2.0 token revocation)',
      description: 'RFC 7009. Send `application/x-www-form-urlencoded` with `token`. A refresh token or an access token ' +
        'revokes its whole login: the refresh token and every access token issued with it. Answers 200 for an unknown token too.',
      tags: ['oauth'],
      consumes: ['application/x-www-form-urlencoded'],
      body: RevokeRequestSchema,
      response: { 200: RevokeResponseSchema, 400: OAuthErrorSchema, 415: OAuthErrorSchema }
    }
  }, async (request) => {
    const { token } = request.body
    if (token === undefined || token === '') throw new OAuthError('invalid_request', 'The token field is required')
    const username = await revoke(token)
    if (username !== undefined) app.securityEvent(request, 'token_revoked', { username })
    return {}
  })
}

export default oauth
