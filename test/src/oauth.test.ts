import t from 'tap'
import { OAuthError } from '../../src/errors.js'
import { resolveScopes, tokenResponse, type AccessTokenIssuer } from '../../src/oauth.js'
import type { IssueInput } from '../../src/tokens.js'

// API.md "Tokens": `scope` absent → every scope the user's roles allow.
t.test('resolveScopes grants every scope the roles allow when none are asked for, also for an empty scope', async (t) => {
  t.same(resolveScopes(undefined, ['admin']), ['items:read', 'items:write', 'users:read', 'users:write'])
  t.same(resolveScopes('', ['client']), ['items:read', 'items:write'])
  t.same(resolveScopes(' ', []), [])
})

t.test('resolveScopes grants the scopes asked for in the policy order, whatever order they came in', async (t) => {
  t.same(resolveScopes('users:write  items:read', ['admin']), ['items:read', 'users:write'])
})

// API.md "Tokens": invalid_scope for a scope that does not exist or that the roles do not allow.
t.test('resolveScopes refuses an unknown scope and one the roles do not allow', async (t) => {
  t.throws(() => resolveScopes('items:read nope', ['admin']), new OAuthError('invalid_scope', 'Unknown scope "nope"'))
  t.throws(() => resolveScopes('users:read', ['client']), new OAuthError('invalid_scope',
    'Scope "users:read" is not allowed for this user'))
})

// RFC 6749 §6: a refresh keeps the login's scopes that the roles still allow.
t.test('on a refresh, resolveScopes keeps the login\'s scopes that the roles still allow when none are asked for', async (t) => {
  t.same(resolveScopes(undefined, ['client'], 'items:read items:write users:read'), ['items:read', 'items:write'])
  t.same(resolveScopes('', ['admin'], 'items:write items:read'), ['items:read', 'items:write'])
})

t.test('on a refresh, resolveScopes grants a narrower scope in the policy order', async (t) => {
  t.same(resolveScopes('items:write  items:read', ['admin'], 'items:read items:write users:read'), ['items:read', 'items:write'])
  t.same(resolveScopes('users:read', ['admin'], 'items:read users:read'), ['users:read'])
})

t.test('on a refresh, resolveScopes refuses an unknown scope, one the login was not granted, ' +
  'and one the roles no longer allow', async (t) => {
  t.throws(() => resolveScopes('nope', ['admin'], 'items:read'), new OAuthError('invalid_scope', 'Unknown scope "nope"'))
  t.throws(() => resolveScopes('items:write', ['admin'], 'items:read'),
    new OAuthError('invalid_scope', 'Scope "items:write" was not granted to this login'))
  t.throws(() => resolveScopes('users:read', ['client'], 'items:read users:read'),
    new OAuthError('invalid_scope', 'Scope "users:read" is not allowed for this user'))
})

// API.md "Tokens": success body. The issuer records what it was asked to sign; the real one is
// plugins/auth.ts's, exercised by every /token test in test/routes/oauth*.test.ts.
t.test('tokenResponse signs an access token for the grant and answers RFC 6749 §5.1\'s body', async (t) => {
  const issued: IssueInput[] = []
  const tokens: AccessTokenIssuer = {
    issueAccessToken (input) {
      issued.push(input)
      return { token: 'signed.access.token', expiresIn: 1800 }
    }
  }
  const user = { username: 'bob', roles: ['client' as const], token_generation: 7 }
  const response = tokenResponse(tokens, { user, loginId: 'login-1', scopes: ['items:read', 'items:write'], refreshToken: 'opaque' })
  t.same(response, {
    access_token: 'signed.access.token',
    token_type: 'bearer',
    expires_in: 1800,
    scope: 'items:read items:write',
    refresh_token: 'opaque'
  })
  t.same(issued, [{ username: 'bob', roles: ['client'], scopes: ['items:read', 'items:write'], generation: 7, loginId: 'login-1' }])
})
