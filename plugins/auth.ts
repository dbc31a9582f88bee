import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import type { Config } from '../src/config.js'
import { HttpError } from '../src/errors.js'
import { isRole, isScope, type Role, type Scope } from '../src/policy.js'
import { createKeySet, type PublicJwk } from '../src/keys.js'
import {
  ACCESS_TOKEN_TYPE, MAX_ACCESS_TOKEN_LENGTH, TokenClaimsError, TokenEncodingError, accessTokenClaims, accessTokenVerifyOptions,
  bearerToken, claimsProblem, isCanonicalCompactJws, keyVerifier, parseJti, verifierByKid,
  type AccessTokenClaims, type AuthUser, type IssueInput, type TokenVerifier, type VerifiedToken
} from '../src/tokens.js'
import type { UserState } from '../src/user-state.js'
import { createVerifiedTokenCache, type VerifiedTokenCache } from '../src/verified-tokens.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default false: the route requires a valid access token. */
    public?: boolean
    /** The user needs at least one of these roles. */
    roles?: readonly Role[]
    /** The token needs all of these scopes. */
    scopes?: readonly Scope[]
  }
  interface FastifyInstance {
    tokens: TokenService
    /** The verified-token cache's counts and size, read-only: for plugins/metrics.ts. */
    verifiedTokens: Pick<VerifiedTokenCache, 'counts' | 'size'>
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims
    user: AuthUser | null
  }
}

/**
 * 748 bytes each (npm run bench:token-memory): 11.7 MiB when full. Sized from the load benchmark's
 * 20,000-user row: a token not kept costs its signature check on every request, about 50 µs in the
 * server, so at 8,192 (6 in 10 requests missing) that row ran at 0.59 of one token's speed, at
 * 16,384 (2 in 10) at 0.79 (README, "Load benchmark").
 */
export const VERIFIED_TOKENS_KEPT = 16_384
/**
 * A kept token nobody presents for this long leaves within twice as long. Keeping a token presented
 * less often than this would save at most 5 µs of CPU a second; dropping it bounds the map by the
 * tokens in use, so a burst of fresh tokens (the soak's 30 a second, a crowd of users) leaves no
 * full map behind to refuse the next ones.
 */
export const VERIFIED_TOKENS_IDLE_MS = 10_000

const SCOPE_LISTS_KEPT = 64

export interface TokenService {
  /** Signs an access token (RFC 9068). */
  issueAccessToken (input: IssueInput): { token: string, expiresIn: number }
  /**
   * Verifies signature (by kid), typ, iss, aud, exp, nbf, iat and the claims' shapes; not the user
   * state or revocation. Throws an error whose message, or `code`, says why. A token that verified
   * before is found in src/verified-tokens.ts, where only its time is checked again.
   */
  verifyAccessToken (token: string): VerifiedToken
  /** RFC 7517 set of the public keys that verify (empty under HS256). */
  jwks: { keys: PublicJwk[] }
}

/** The user a protected route runs for. Throws 500 on a public route, where there is none. */
export function currentUser (request: FastifyRequest): AuthUser {
  if (request.user === null) throw new Error('currentUser() called on a route without authentication')
  return request.user
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

  const signingHeader = { alg: signer.alg, typ: ACCESS_TOKEN_TYPE, ...(signer.alg === 'HS256' ? {} : { kid: signer.kid }) }
  await app.register(fastifyJwt, {
    secret: signer.alg === 'HS256' ? signer.secret : { private: signer.privateKeyPem, public: signer.publicKeyPem },
    sign: { algorithm: signer.alg, header: signingHeader }
  })
  // @fastify/jwt signs. Verifying is fast-jwt's, as inside @fastify/jwt, but with verifiers built here
  // once, each pinned to its key's one algorithm: @fastify/jwt's verify() merges its options on every
  // call, and cannot hold a verifier per previous key (a per-call key builds a new verifier each time).
  const signingKeyVerifier = createVerifier({
    ...verifyOptions, key: signer.alg === 'HS256' ? signer.secret : signer.publicKeyPem, algorithms: [signer.alg]
  }) as TokenVerifier
  const verifiers = new Map<string, TokenVerifier>([[signer.alg === 'HS256' ? '' : signer.kid, signingKeyVerifier]])
  for (const key of keys.verificationKeys) {
    if (!verifiers.has(key.kid)) verifiers.set(key.kid, keyVerifier(key, verifyOptions))
  }
  // Every token this server signs starts with the same header segment: its verifier is known without decoding it.
  const sample: string = app.jwt.sign({} as unknown as AccessTokenClaims)
  const ownHeader = sample.slice(0, sample.indexOf('.'))
  const verifyWithKey = verifierByKid(verifiers, { header: ownHeader, verify: signingKeyVerifier })
  const now = app.now
  const verifiedTokens = createVerifiedTokenCache({ max: VERIFIED_TOKENS_KEPT, idleMs: VERIFIED_TOKENS_IDLE_MS, now })
  app.decorate('verifiedTokens', { counts: verifiedTokens.counts, size: verifiedTokens.size })

  // Tokens with the same scope share one frozen list. Only verified tokens, which this server signed,
  // reach it, so the scope strings are the few it grants; the bound is a guard, not a working limit.
  const scopeLists = new Map<string, readonly Scope[]>()
  function scopeList (scope: string): readonly Scope[] {
    let list = scopeLists.get(scope)
    if (list === undefined) {
      list = Object.freeze(scope.split(' ') as Scope[])
      if (scopeLists.size < SCOPE_LISTS_KEPT) scopeLists.set(scope, list)
    }
    return list
  }

  // Only here, off the kept-token branch: a token equal to a kept one was checked when it was kept.
  function verifyUncached (token: string): VerifiedToken {
    if (!isCanonicalCompactJws(token)) throw new TokenEncodingError()
    const claims = verifyWithKey(token)
    const problem = claimsProblem(claims as unknown as Record<string, unknown>, Math.floor(now() / 1000))
    if (problem !== undefined) throw new TokenClaimsError(problem)
    const { generation, loginId } = parseJti(claims.jti) as { generation: number, loginId: string }
    const { sub, jti, iat, exp } = claims
    return { sub, jti, iat, exp, generation, loginId, scopes: scopeList(claims.scope) }
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
      const kept = verifiedTokens.get(token)
      if (kept !== undefined) return kept
      const verified = verifyUncached(token)
      verifiedTokens.remember(token, verified)
      return verified
    },
    jwks: keys.jwks
  } satisfies TokenService)

  // Read off the instance once: a decorator lookup walks the instance's prototype chain.
  const services: GuardServices = { tokens: app.tokens, verifiedTokens, userState: app.userState, logins: app.logins }
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

/**
 * The guard of one protected route, built once for its roles (any one) and scopes (all). It checks
 * in the order of the table in API.md "Authentication and authorization": the token (rows 1 and 2),
 * the user state (row 3), the scopes (row 4), the roles (row 5). It runs on every protected request:
 * for a token verified before, it runs no regex and allocates no closure; src/verified-tokens.ts
 * keeps those tokens.
 */
function createGuard (services: GuardServices, roles: readonly Role[], scopes: readonly Scope[]): onRequestHookHandler {
  const { userState, logins } = services
  const scopeChallenge = { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"` }

  // A loop, not `roles.some(...)`: a closure over the user's roles would be allocated per request.
  function holdsAnyRole (held: readonly Role[]): boolean {
    for (const role of roles) if (held.includes(role)) return true
    return false
  }

  // Rows 3 to 5, once the user state is at hand (from memory, or loaded once after a miss).
  function admit (request: FastifyRequest, token: VerifiedToken, state: UserState | null, done: HookHandlerDoneFunction): void {
    if (state === null) return refuse(request, done, invalidToken('The user no longer exists'))
    if (state.disabled) return refuse(request, done, invalidToken('The user is disabled'))
    if (token.generation !== state.generation || logins.isRevoked(token.loginId)) {
      return refuse(request, done, invalidToken('The access token was revoked'))
    }
    for (const scope of scopes) {
      if (!token.scopes.includes(scope)) {
        return refuse(request, done, new HttpError(403, 'The access token lacks a required scope', scopeChallenge))
      }
    }
    // Roles are the user's current ones, not the token's `roles` claim (API.md).
    if (roles.length > 0 && !holdsAnyRole(state.roles)) return refuse(request, done, new HttpError(403, 'Your roles do not allow this'))
    request.user = { username: token.sub, roles: state.roles, scopes: token.scopes, loginId: token.loginId, jti: token.jti }
    done()
  }

  return function guard (this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const token = presentedToken(services, request)
    if (token instanceof HttpError) return refuse(request, done, token)
    const state = userState.peek(token.sub)
    if (state !== undefined) return admit(request, token, state, done)
    userState.load(token.sub).then((loaded) => admit(request, token, loaded, done), done)
  }
}

interface GuardServices {
  tokens: TokenService
  verifiedTokens: VerifiedTokenCache
  userState: FastifyInstance['userState']
  logins: FastifyInstance['logins']
}

/** The verified token the Authorization header presents, or the refusal (rows 1 and 2). */
function presentedToken ({ tokens, verifiedTokens }: GuardServices, request: FastifyRequest): VerifiedToken | HttpError {
  const header = request.headers.authorization
  try {
    // The usual header, "Bearer <a token verified before>", needs no parsing regex: only a
    // well-formed token ever verified.
    const kept = header === undefined ? undefined : verifiedTokens.fromHeader(header)
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
  if (err instanceof TokenClaimsError) return err.message
  return TOKEN_ERRORS[(err as { code?: string }).code ?? ''] ?? 'The access token is malformed'
}

/** Every refusal is logged at debug with its reason (the error's fixed message), never with the token. */
function refuse (request: FastifyRequest, done: HookHandlerDoneFunction, err: HttpError): void {
  request.log.debug({ statusCode: err.statusCode, reason: err.message }, 'request refused')
  done(err)
}

export default fp(auth, { name: 'auth', dependencies: ['db'] })
