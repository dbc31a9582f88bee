import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import type { Config } from '../src/config.js'
import { HttpError } from '../src/errors.js'
import { isRole, isScope, type Role, type Scope } from '../src/policy.js'
import { createKeySet, type PublicJwk } from '../src/keys.js'
import {
  ACCESS_TOKEN_TYPE, MAX_ACCESS_TOKEN_LENGTH, accessTokenClaims, accessTokenVerifyOptions, bearerToken, claimsProblem, keyVerifier, parseJti, timeProblem,
  verifierByKid, type AccessTokenClaims, type AuthUser, type TokenVerifier, type VerifiedToken
} from '../src/tokens.js'
import type { UserState } from '../src/user-state.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default false: the route requires a valid access token. */
    public?: boolean
    /** The user needs at least one of these roles. */
    roles?: readonly Role[]
    /** The token needs all of these scopes. */
    scopes?: readonly Scope[]
  }
  interface FastifyInstance { tokens: TokenService }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims
    user: AuthUser | null
  }
}

/**
 * About 1 KB each (measured). 4,096 hold every token of a busy server's last few minutes; at 10,000
 * a 10-minute soak's RSS was still rising in its second half while the map filled (README, "Soak").
 */
export const VERIFIED_TOKENS_KEPT = 4_096
/**
 * Tokens verified before are found by this many of their last characters (the signature's end),
 * then compared whole: hashing a whole token as a Map key reads its 300-400 characters on every request.
 */
const KEPT_TOKEN_KEY_LENGTH = 24

export interface IssueInput {
  username: string
  roles: readonly Role[]
  scopes: readonly Scope[]
  generation: number
  loginId: string
}

export interface TokenService {
  /** Signs an access token (RFC 9068). */
  issueAccessToken (input: IssueInput): { token: string, expiresIn: number }
  /**
   * Verifies signature (by kid), typ, iss, aud, exp, nbf, iat and the claims' shapes; not the user
   * state or revocation. Throws an error whose message, or `code`, says why.
   */
  verifyAccessToken (token: string): VerifiedToken
  /**
   * For an Authorization header "Bearer <a token that verified before>", the same checks with only
   * the time checks made again; undefined for any other header. Throws as verifyAccessToken does.
   */
  keptBearer (header: string): VerifiedToken | undefined
  /** RFC 7517 set of the public keys that verify (empty under HS256). */
  jwks: { keys: PublicJwk[] }
}

class ClaimsError extends Error {
  readonly code = 'CLAIMS'
}

/** The user a protected route runs for. Throws 500 on a public route, where there is none. */
export function currentUser (request: FastifyRequest): AuthUser {
  if (request.user === null) throw new Error('currentUser() called on a route without authentication')
  return request.user
}

// RFC 6750 §3: the challenge when no credentials were sent carries no error code.
const NO_CREDENTIALS = { 'www-authenticate': 'Bearer' }

function invalidToken (description: string): HttpError {
  return new HttpError(401, description, { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` })
}

const TOKEN_ERRORS: Record<string, string> = {
  FAST_JWT_EXPIRED: 'The access token expired',
  FAST_JWT_INACTIVE: 'The access token is not valid yet',
  FAST_JWT_INVALID_SIGNATURE: 'The access token signature is invalid',
  FAST_JWT_INVALID_ALGORITHM: 'The access token algorithm is not accepted',
  FAST_JWT_INVALID_TYPE: 'The access token type must be at+jwt',
  FAST_JWT_INVALID_CLAIM_VALUE: 'The access token was issued by or for another party',
  FAST_JWT_MISSING_REQUIRED_CLAIM: 'The access token lacks a required claim',
  FAST_JWT_INVALID_CLAIM_TYPE: 'The access token has a claim of the wrong type',
  TOKEN_KEY_UNKNOWN: 'The access token names a key that is not accepted here'
}

function describeTokenError (err: unknown): string {
  if (err instanceof ClaimsError) return err.message
  return TOKEN_ERRORS[(err as { code?: string }).code ?? ''] ?? 'The access token is malformed'
}

async function auth (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  if (config.jwtSecret === undefined && config.jwtPrivateKey === undefined) {
    app.log.warn('JWT_SECRET is not set: tokens are signed with a random key and stop working at restart')
  }
  const keys = createKeySet({
    secret: config.jwtSecret ?? randomBytes(32).toString('base64url'),
    privateKeyPem: config.jwtPrivateKey,
    previousPublicKeyPems: config.jwtPreviousPublicKeys
  })
  const { signer } = keys
  const verifyOptions = accessTokenVerifyOptions(config)

  // @fastify/jwt signs, and verifies the signing key's tokens, pinned to its one algorithm. It
  // cannot hold a prebuilt verifier per previous key (a per-call key or algorithm builds a new
  // verifier on every call), so those are fast-jwt verifiers built here, once, with the same options.
  await app.register(fastifyJwt, {
    secret: signer.alg === 'HS256' ? signer.secret : { private: signer.privateKeyPem, public: signer.publicKeyPem },
    sign: {
      algorithm: signer.alg,
      header: { alg: signer.alg, typ: ACCESS_TOKEN_TYPE, ...(signer.alg === 'HS256' ? {} : { kid: signer.kid }) }
    },
    verify: { ...verifyOptions, algorithms: [signer.alg] }
  })
  const verifiers = new Map<string, TokenVerifier>([[signer.alg === 'HS256' ? '' : signer.kid, (token) => app.jwt.verify<AccessTokenClaims>(token)]])
  for (const key of keys.verificationKeys) {
    if (!verifiers.has(key.kid)) verifiers.set(key.kid, keyVerifier(key, verifyOptions))
  }
  const verifyAccessToken = verifierByKid(verifiers)
  const now = app.now
  // Tokens whose signature and claims verified: a hit costs a short Map lookup and one string
  // comparison, where the library's own cache hashes the token and parses its header first.
  // `header` is the usual Authorization header for the token, as one flat string: comparing it
  // with the request's header is one memory comparison, where a slice of that header is not.
  const keptTokens = new Map<string, { token: string, header: string, verified: VerifiedToken }>()

  function stillValid (verified: VerifiedToken): VerifiedToken {
    const problem = timeProblem(verified.claims, Math.floor(now() / 1000))
    if (problem !== undefined) throw new ClaimsError(problem)
    return verified
  }

  function keptToken (token: string): VerifiedToken | undefined {
    const entry = keptTokens.get(token.slice(-KEPT_TOKEN_KEY_LENGTH))
    return entry === undefined || entry.token !== token ? undefined : stillValid(entry.verified)
  }

  function keptBearer (header: string): VerifiedToken | undefined {
    const entry = keptTokens.get(header.slice(-KEPT_TOKEN_KEY_LENGTH))
    return entry === undefined || entry.header !== header ? undefined : stillValid(entry.verified)
  }

  function verifyUncached (token: string): VerifiedToken {
    const claims = verifyAccessToken(token)
    const problem = claimsProblem(claims as unknown as Record<string, unknown>, Math.floor(now() / 1000))
    if (problem !== undefined) throw new ClaimsError(problem)
    const { generation, loginId } = parseJti(claims.jti) as { generation: number, loginId: string }
    return { claims, generation, loginId, scopes: Object.freeze(claims.scope.split(' ') as Scope[]) }
  }

  app.decorate('tokens', {
    issueAccessToken (input: IssueInput) {
      const claims = accessTokenClaims({
        ...input,
        issuer: config.issuer,
        audience: config.audience,
        ttlSeconds: config.accessTokenTtl,
        nowSeconds: Math.floor(now() / 1000)
      })
      return { token: app.jwt.sign(claims), expiresIn: config.accessTokenTtl }
    },
    verifyAccessToken (token: string) {
      const kept = keptToken(token)
      if (kept !== undefined) return kept
      const entry = verifyUncached(token)
      if (keptTokens.size >= VERIFIED_TOKENS_KEPT) keptTokens.delete(keptTokens.keys().next().value as string)
      // Verified tokens are base64url and dots, so latin1 keeps them as they are.
      const header = Buffer.from(`Bearer ${token}`, 'latin1').toString('latin1')
      keptTokens.set(token.slice(-KEPT_TOKEN_KEY_LENGTH), { token, header, verified: entry })
      return entry
    },
    keptBearer,
    jwks: keys.jwks
  } satisfies TokenService)

  // Read off the instance once: a decorator lookup walks the instance's prototype chain.
  const services: GuardServices = { tokens: app.tokens, userState: app.userState, logins: app.logins }
  app.addHook('onRoute', (route) => {
    const config = route.config ?? {}
    const name = `${[route.method].flat().join(',')} ${route.url}`
    for (const role of config.roles ?? []) if (!isRole(role)) throw new Error(`${name}: unknown role "${role}"`)
    for (const scope of config.scopes ?? []) if (!isScope(scope)) throw new Error(`${name}: unknown scope "${scope}"`)
    if (config.public === true) return
    const guard = createGuard(services, config.roles ?? [], config.scopes ?? [])
    route.onRequest = [guard, ...[route.onRequest ?? []].flat()]
  })
}

/** Every refusal is logged at debug with its reason (the error's fixed message), never with the token. */
function refuse (request: FastifyRequest, done: HookHandlerDoneFunction, err: HttpError): void {
  request.log.debug({ statusCode: err.statusCode, reason: err.message }, 'request refused')
  done(err)
}

/** The verified token the Authorization header presents, or the refusal (API.md "Authentication and authorization"). */
function presentedToken (tokens: TokenService, request: FastifyRequest): VerifiedToken | HttpError {
  const header = request.headers.authorization
  try {
    // The usual header, "Bearer <a token verified before>", needs no parsing regex: only a
    // well-formed token ever verified.
    const kept = header === undefined ? undefined : tokens.keptBearer(header)
    if (kept !== undefined) return kept
    const lookup = bearerToken(header)
    if (lookup.kind === 'missing') return new HttpError(401, 'Authentication required', NO_CREDENTIALS)
    if (lookup.kind === 'malformed') return invalidToken('The Authorization header is malformed')
    if (lookup.token.length > MAX_ACCESS_TOKEN_LENGTH) return invalidToken('The access token is too long')
    return tokens.verifyAccessToken(lookup.token)
  } catch (err) {
    request.log.debug({ reason: (err as { code?: string }).code }, 'access token refused')
    return invalidToken(describeTokenError(err))
  }
}

interface GuardServices {
  tokens: TokenService
  userState: FastifyInstance['userState']
  logins: FastifyInstance['logins']
}

/** Built once per route: checks token, user state, scopes, roles (API.md "Authentication and authorization"). */
function createGuard ({ tokens, userState, logins }: GuardServices, roles: readonly Role[], scopes: readonly Scope[]): onRequestHookHandler {
  const scopeChallenge = { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"` }

  // A loop, not `roles.some(...)`: a closure over the user's roles would be allocated per request.
  function holdsAnyRole (held: readonly Role[]): boolean {
    for (const role of roles) if (held.includes(role)) return true
    return false
  }

  function admit (request: FastifyRequest, token: VerifiedToken, state: UserState | null, done: HookHandlerDoneFunction): void {
    if (state === null) return refuse(request, done, invalidToken('The user no longer exists'))
    if (state.disabled) return refuse(request, done, invalidToken('The user is disabled'))
    if (token.generation !== state.generation || logins.isRevoked(token.loginId)) return refuse(request, done, invalidToken('The access token was revoked'))
    for (const scope of scopes) {
      if (!token.scopes.includes(scope)) return refuse(request, done, new HttpError(403, 'The access token lacks a required scope', scopeChallenge))
    }
    if (roles.length > 0 && !holdsAnyRole(state.roles)) return refuse(request, done, new HttpError(403, 'Your roles do not allow this'))
    request.user = { username: token.claims.sub, roles: state.roles, scopes: token.scopes, loginId: token.loginId, jti: token.claims.jti }
    done()
  }

  return function guard (this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const token = presentedToken(tokens, request)
    if (token instanceof HttpError) return refuse(request, done, token)
    const state = userState.peek(token.claims.sub)
    if (state !== undefined) return admit(request, token, state, done)
    userState.load(token.claims.sub).then((loaded) => admit(request, token, loaded, done), done)
  }
}

export default fp(auth, { name: 'auth', dependencies: ['db'] })
