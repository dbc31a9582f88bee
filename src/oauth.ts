import { OAuthError } from './errors.js'
import { ALL_SCOPES, isScope, scopesFor, type Role, type Scope } from './policy.js'
import type { TokenResponse } from './schemas/oauth.js'
import type { UserRecord } from './store/users.js'
import type { IssueInput } from './tokens.js'

/**
 * RFC 6749 §3.3 and §6: the scopes a grant gives. Each requested scope must exist, be allowed by the
 * user's current roles and, on a refresh, have been granted to the login (`granted`): a refresh may
 * narrow a login's scopes, never widen them. None requested means all that pass. In the policy's
 * order, so the `scope` answered does not depend on the order asked in.
 */
export function resolveScopes (requested: string | undefined, roles: readonly Role[], granted?: string): Scope[] {
  const allowed = scopesFor(roles)
  const login = granted?.split(' ')
  const names = (requested ?? '').split(' ').filter(Boolean)
  if (names.length === 0) return login === undefined ? allowed : allowed.filter((scope) => login.includes(scope))
  for (const name of names) {
    if (!isScope(name)) throw new OAuthError('invalid_scope', `Unknown scope "${name}"`)
    if (login !== undefined && !login.includes(name)) throw new OAuthError('invalid_scope', `Scope "${name}" was not granted to this login`)
    if (!allowed.includes(name)) throw new OAuthError('invalid_scope', `Scope "${name}" is not allowed for this user`)
  }
  return ALL_SCOPES.filter((scope) => names.includes(scope))
}

/** What a grant ends with, whichever grant: the user, its login, the scopes resolved and the login's new refresh token. */
export interface Grant {
  user: Pick<UserRecord, 'username' | 'roles' | 'token_generation'>
  loginId: string
  scopes: readonly Scope[]
  refreshToken: string
}

/** What signs access tokens: the app's TokenService (plugins/auth.ts). */
export interface AccessTokenIssuer {
  issueAccessToken (input: IssueInput): { token: string, expiresIn: number }
}

/** RFC 6749 §5.1: the answer of both grants, with an access token for the grant (API.md "Tokens"). */
export function tokenResponse (tokens: AccessTokenIssuer, { user, loginId, scopes, refreshToken }: Grant): TokenResponse {
  const { token, expiresIn } = tokens.issueAccessToken({
    username: user.username, roles: user.roles, scopes, generation: user.token_generation, loginId
  })
  return { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: scopes.join(' '), refresh_token: refreshToken }
}
