import { createHash, randomBytes } from 'node:crypto'
import { createVerifier, type VerifierOptions } from 'fast-jwt'
import type { VerificationKey } from './keys.js'
import type { Role, Scope } from './policy.js'

export const ACCESS_TOKEN_TYPE = 'at+jwt'
/** RFC 8725 §3.8 leeway, applied to exp, nbf and iat. */
export const CLOCK_SKEW_SECONDS = 30

/** Ours are under 1 kB; a longer one was not issued here and is refused before any decoding or hashing. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096

/** RFC 9068 §2.2 claims of our access tokens. */
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  client_id: string
  iat: number
  exp: number
  jti: string
  scope: string
  roles: Role[]
}

/**
 * RFC 9068 §2.2 requires `client_id`. Clients are not registered (a `client_id` sent to /token is
 * ignored, API.md "Tokens"), so every token names the one public client they all are.
 */
export const PUBLIC_CLIENT_ID = 'public'

/** Who a verified access token speaks for; what `request.user` holds. */
export interface AuthUser {
  username: string
  /** The user's current roles (from the user state, not from the token). */
  roles: readonly Role[]
  scopes: readonly Scope[]
  /** The login (refresh token family) the token belongs to. */
  loginId: string
  jti: string
}

export function randomToken (bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

/** An opaque refresh token: 256 random bits, base64url (API.md "Tokens"). */
export function newRefreshToken (): string {
  return randomToken(32)
}

/** What is stored of a refresh token: a fast hash is enough for 256 random bits. */
export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** A login's id: the refresh token family, named in each access token's jti. */
export function newLoginId (): string {
  return randomToken(12)
}

/**
 * A new user's first token generation: 48 random bits, so that a user created under a deleted
 * user's name never matches the old tokens' generation, even once the old logins were pruned
 * (API.md "Authentication and authorization", last paragraph). 2⁴⁸ leaves room for 7·10¹⁴ bumps
 * within the jti's 15 digits, and every value is a safe integer in JavaScript and SQLite alike.
 */
export function newTokenGeneration (): number {
  return randomBytes(6).readUIntBE(0, 6)
}

/**
 * The jti names the user's token generation and the login, then a random part for uniqueness.
 * A generation is bumped by every change that must revoke earlier tokens, so the check is exact
 * even within one second, which an `iat` comparison could not be.
 */
export function makeJti (generation: number, loginId: string): string {
  return `${generation}.${loginId}.${randomToken(9)}`
}

export function parseJti (jti: string): { generation: number, loginId: string } | undefined {
  const match = /^(\d{1,15})\.([\w-]{1,64})\.[\w-]+$/.exec(jti)
  if (match === null) return undefined
  return { generation: Number(match[1]), loginId: match[2] as string }
}

/** What an access token is issued for: the user, the scopes granted and the login (API.md "Tokens"). */
export interface IssueInput {
  username: string
  roles: readonly Role[]
  scopes: readonly Scope[]
  generation: number
  loginId: string
}

/** IssueInput, and what the server's configuration and clock add. */
export interface ClaimsInput extends IssueInput {
  issuer: string
  audience: string
  ttlSeconds: number
  nowSeconds: number
}

export function accessTokenClaims (input: ClaimsInput): AccessTokenClaims {
  return {
    iss: input.issuer,
    aud: input.audience,
    sub: input.username,
    client_id: PUBLIC_CLIENT_ID,
    iat: input.nowSeconds,
    exp: input.nowSeconds + input.ttlSeconds,
    jti: makeJti(input.generation, input.loginId),
    scope: input.scopes.join(' '),
    roles: [...input.roles]
  }
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const SCHEME = /^(\S+)/

export type BearerLookup =
  | { kind: 'missing' }
  | { kind: 'malformed' }
  | { kind: 'token', token: string }

/** Reads the Authorization header. 'missing' covers no header, another scheme and an empty Bearer. */
export function bearerToken (header: string | undefined): BearerLookup {
  if (header === undefined) return { kind: 'missing' }
  const match = BEARER.exec(header)
  if (match !== null) return { kind: 'token', token: match[1] as string }
  const scheme = SCHEME.exec(header)?.[1]
  if (scheme === undefined || scheme.toLowerCase() !== 'bearer' || header.trim().length === scheme.length) return { kind: 'missing' }
  return { kind: 'malformed' }
}

/**
 * The checks the JWT library does not make: claim types, an iat from the future (RFC 8725
 * §3.10 leaves it to us), and a jti of our own format. Returns a reason when refused.
 */
export function claimsProblem (payload: Record<string, unknown>, nowSeconds: number): string | undefined {
  if (typeof payload.sub !== 'string' || payload.sub === '') return 'The token has no subject'
  if (typeof payload.scope !== 'string') return 'The token has no scope'
  if (typeof payload.jti !== 'string' || parseJti(payload.jti) === undefined) return 'The token has no valid jti'
  if (typeof payload.iat !== 'number') return 'The token has no issue time'
  if (typeof payload.exp !== 'number') return 'The access token expired'
  return timeProblem(payload as { iat: number, exp: number }, nowSeconds)
}

/** The part of claimsProblem that changes with the clock. */
export function timeProblem ({ iat, exp }: { iat: number, exp: number }, nowSeconds: number): string | undefined {
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return 'The token is issued in the future'
  // The library checks exp against the system clock; this checks it against the app's (the `now` seam).
  if (exp + CLOCK_SKEW_SECONDS < nowSeconds) return 'The access token expired'
  return undefined
}

/**
 * A token whose signature and claims were checked: what every request reads, parsed once, and no
 * more, since thousands are kept (src/verified-tokens.ts). Tokens with the same scope share `scopes`.
 */
export interface VerifiedToken {
  sub: string
  jti: string
  iat: number
  exp: number
  generation: number
  loginId: string
  scopes: readonly Scope[]
}

/** RFC 9068 §4 checks, the same for every key; each key adds its own `algorithms`. */
export function accessTokenVerifyOptions ({ issuer, audience }: { issuer: string, audience: string }): Partial<VerifierOptions> {
  return {
    allowedIss: issuer,
    allowedAud: audience,
    requiredClaims: ['iss', 'aud', 'exp', 'sub', 'iat', 'jti'],
    checkTyp: ACCESS_TOKEN_TYPE,
    // No library cache: it hashes every token it is given. src/verified-tokens.ts keeps verified tokens instead.
    clockTolerance: CLOCK_SKEW_SECONDS * 1000
  }
}

export type TokenVerifier = (token: string) => AccessTokenClaims

/** A verifier built once for one public key, pinned to that key's algorithm (RFC 8725 §3.1). */
export function keyVerifier (key: VerificationKey, options: Partial<VerifierOptions>): TokenVerifier {
  return createVerifier({ ...options, key: key.publicKeyPem, algorithms: [key.alg] }) as TokenVerifier
}

/** The `kid` of a JWT's header: '' when there is none, undefined when the header cannot be read. */
export function headerKid (token: string): string | undefined {
  const dot = token.indexOf('.')
  if (dot < 0) return undefined
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString())
  } catch {
    return undefined
  }
  if (typeof header !== 'object' || header === null) return undefined
  const { kid } = header as { kid?: unknown }
  if (kid === undefined) return ''
  return typeof kid === 'string' ? kid : undefined
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const BASE64URL_TEXT = /^[A-Za-z0-9_-]*$/

/**
 * Whether a segment is the one base64url spelling of its bytes (RFC 7515 §2: no padding; RFC 4648
 * §3.5: the last character's unused low bits are zero). Decoders ignore those bits and padding, so
 * without this check one signature would have 4 (HS256) or 16 (EdDSA, RS256) accepted spellings.
 */
export function isCanonicalBase64url (segment: string): boolean {
  if (!BASE64URL_TEXT.test(segment)) return false
  const rest = segment.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  // 2 characters left carry 12 bits for one byte, 3 carry 18 bits for two.
  const unused = rest === 2 ? 0b1111 : 0b11
  return (BASE64URL_ALPHABET.indexOf(segment.charAt(segment.length - 1)) & unused) === 0
}

/** A JWS in compact serialization (RFC 7515 §7.1), each of its three segments spelled canonically. */
export function isCanonicalCompactJws (token: string): boolean {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return false
  return isCanonicalBase64url(token.slice(0, first)) &&
    isCanonicalBase64url(token.slice(first + 1, second)) &&
    isCanonicalBase64url(token.slice(second + 1))
}

/** Thrown for a token that is not its own canonical spelling; `code` as fast-jwt's errors have one. */
export class TokenEncodingError extends Error {
  readonly code = 'TOKEN_NOT_CANONICAL'
  constructor () {
    super('The token is not in canonical base64url')
    this.name = 'TokenEncodingError'
  }
}

/** Thrown for claims the JWT library does not check (claimsProblem, timeProblem); the message says which. */
export class TokenClaimsError extends Error {
  readonly code = 'CLAIMS'
  constructor (problem: string) {
    super(problem)
    this.name = 'TokenClaimsError'
  }
}

const DOT = 46

/** Thrown for a token naming no key that verifies here; `code` as fast-jwt's errors have one. */
export class TokenKeyError extends Error {
  readonly code: 'TOKEN_KEY_UNKNOWN' | 'TOKEN_HEADER_MALFORMED'
  constructor (code: TokenKeyError['code']) {
    super(code === 'TOKEN_KEY_UNKNOWN' ? 'The token key is unknown' : 'The token header is malformed')
    this.name = 'TokenKeyError'
    this.code = code
  }
}

/**
 * Picks the verifier of the key the header names (RFC 7515 §4.1.4). Each verifier accepts its own
 * algorithm only, so a kid can never make one key verify another algorithm. '' is the key for
 * tokens without a kid: the HS256 secret, when no key file is set.
 */
export function verifierByKid (verifiers: ReadonlyMap<string, TokenVerifier>, own?: { header: string, verify: TokenVerifier }):
TokenVerifier {
  return (token) => {
    // `own`: the header segment this server signs with, and its key's verifier; no need to decode it.
    if (own !== undefined && token.length > own.header.length && token.charCodeAt(own.header.length) === DOT &&
      token.startsWith(own.header)) return own.verify(token)
    const kid = headerKid(token)
    if (kid === undefined) throw new TokenKeyError('TOKEN_HEADER_MALFORMED')
    const verify = verifiers.get(kid)
    if (verify === undefined) throw new TokenKeyError('TOKEN_KEY_UNKNOWN')
    return verify(token)
  }
}
