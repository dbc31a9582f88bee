import { OAuthError } from './errors.js'
import { resolveScopes } from './oauth.js'
import type { Scope } from './policy.js'
import type { RefreshTokensRepository } from './store/refresh-tokens.js'
import { REVOKING_CHANGES, type UserRecord, type UsersRepository } from './store/users.js'
import { hashRefreshToken, newLoginId, newRefreshToken } from './tokens.js'

export interface LoginServiceOptions {
  refreshTokens: RefreshTokensRepository
  findUser: (username: string) => Promise<UserRecord | undefined>
  /** Milliseconds since the epoch. */
  now: () => number
  /** Seconds a refresh token stays usable after it is issued (REFRESH_TOKEN_TTL). */
  refreshTokenTtl: number
  /** Milliseconds an access token of a revoked login may still be presented: its TTL plus the clock skew. */
  revokedRetention: number
}

export interface Refreshed {
  user: UserRecord
  loginId: string
  scopes: Scope[]
  refreshToken: string
}

/** Logins (refresh token families) and their revocation, which also stops their access tokens. */
export interface LoginService {
  /** A password grant's login: a new family with its first refresh token. Prunes expired families first. */
  start (user: UserRecord, scopes: readonly Scope[]): Promise<{ loginId: string, refreshToken: string }>
  /** RFC 6749 §6 with rotation and reuse detection. Throws OAuthError. */
  refresh (presented: string, requestedScope: string | undefined): Promise<Refreshed>
  /** Revokes the token's whole login; false when the token is unknown. */
  revokeRefreshToken (token: string): Promise<boolean>
  revokeLogin (loginId: string): Promise<void>
  revokeUser (username: string): Promise<void>
  /** Whether the login's access tokens must be refused; no I/O, for the auth hook. */
  isRevoked (loginId: string): boolean
  /** A login another instance revoked at `at` (the store's change feed): refused here too from now on. */
  noteRevoked (loginId: string, at: number): void
  /** Reloads the logins revoked within the retention, so access tokens stay refused across a restart. */
  load (): Promise<void>
}

const INVALID = 'The refresh token is invalid, expired or revoked'
/** The description of a reused refresh token's invalid_grant; routes/oauth.ts logs refresh_reused on it. */
export const REUSED = 'The refresh token was already used; its login is revoked'

export function createLoginService (
  { refreshTokens, findUser, now, refreshTokenTtl, revokedRetention }: LoginServiceOptions
): LoginService {
  // loginId → revoked at (ms), oldest first. Entries older than the retention are dropped:
  // every access token of that login has expired by then.
  const revoked = new Map<string, number>()

  function remember (loginId: string, at: number): void {
    revoked.delete(loginId)
    revoked.set(loginId, at)
    for (const [id, revokedAt] of revoked) {
      if (revokedAt + revokedRetention > at) break
      revoked.delete(id)
    }
  }

  async function revokeLogin (loginId: string): Promise<void> {
    const at = now()
    await refreshTokens.revokeFamily(loginId, at)
    remember(loginId, at)
  }

  return {
    async start (user, scopes) {
      const at = now()
      await refreshTokens.prune(at, at - revokedRetention)
      const loginId = newLoginId()
      const refreshToken = newRefreshToken()
      await refreshTokens.createFamily(
        { id: loginId, username: user.username, scope: scopes.join(' '), generation: user.token_generation },
        hashRefreshToken(refreshToken), at + refreshTokenTtl * 1000)
      return { loginId, refreshToken }
    },

    async refresh (presented, requestedScope) {
      const at = now()
      const hash = hashRefreshToken(presented)
      const token = await refreshTokens.find(hash)
      if (token === undefined || token.revoked_at !== null || token.expires_at <= at) throw new OAuthError('invalid_grant', INVALID)
      if (token.used_at !== null) {
        await revokeLogin(token.family_id)
        throw new OAuthError('invalid_grant', REUSED)
      }
      // The user is checked again: deleted, disabled, or changed since the login (token generation).
      const user = await findUser(token.username)
      if (user === undefined || user.disabled || user.token_generation !== token.generation) {
        await revokeLogin(token.family_id)
        throw new OAuthError('invalid_grant', user?.disabled === true ? 'This user is disabled' : INVALID)
      }
      const scopes = resolveScopes(requestedScope, user.roles, token.scope)
      const refreshToken = newRefreshToken()
      // The repository re-checks the token in the same transaction: of two concurrent uses, one wins
      // and the other counts as reuse, which revokes the login.
      const result = await refreshTokens.rotate(hash, hashRefreshToken(refreshToken), at, at + refreshTokenTtl * 1000)
      if (result === 'reused') remember(token.family_id, at)
      if (result !== 'rotated') throw new OAuthError('invalid_grant', result === 'reused' ? REUSED : INVALID)
      return { user, loginId: token.family_id, scopes, refreshToken }
    },

    async revokeRefreshToken (token) {
      const found = await refreshTokens.find(hashRefreshToken(token))
      if (found === undefined) return false
      await revokeLogin(found.family_id)
      return true
    },

    revokeLogin,

    async revokeUser (username) {
      const at = now()
      for (const id of await refreshTokens.revokeUser(username, at)) remember(id, at)
    },

    isRevoked: (loginId) => revoked.has(loginId),

    noteRevoked: remember,

    async load () {
      for (const { id, revoked_at: at } of await refreshTokens.revokedAfter(now() - revokedRetention)) remember(id, at)
    }
  }
}

/**
 * The users repository, with the writes that revoke access tokens (a new token generation:
 * password, roles, disabled) and deletion also revoking the user's logins, refresh tokens included.
 */
export function revokingLogins (users: UsersRepository, logins: Pick<LoginService, 'revokeUser'>): UsersRepository {
  return {
    ...users,
    async update (username, changes) {
      const before = REVOKING_CHANGES.some((key) => changes[key] !== undefined) ? await users.find(username) : undefined
      const updated = await users.update(username, changes)
      if (updated !== undefined && before !== undefined && updated.token_generation !== before.token_generation) {
        await logins.revokeUser(username)
      }
      return updated
    },
    async delete (username) {
      const deleted = await users.delete(username)
      if (deleted) await logins.revokeUser(username)
      return deleted
    }
  }
}
