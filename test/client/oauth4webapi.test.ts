import t from 'tap'
import * as oauth from 'oauth4webapi'
import { BOB, buildTestApp, login } from '../helper.js'
import { keyFiles } from '../key-files.js'

// A real OAuth2 client library against the server, through what a reverse proxy would do: the
// issuer https://auth.example/tenant is this server mounted under /tenant, and RFC 8414 §3.1 puts
// its metadata at https://auth.example/.well-known/oauth-authorization-server/tenant.
const ISSUER = new URL('https://auth.example/tenant')

function proxyTo (base: string): typeof fetch {
  return async (url, options) => {
    const { pathname, search } = new URL(url instanceof Request ? url.url : url)
    const forwarded = pathname.startsWith('/tenant/') ? pathname.slice('/tenant'.length) : pathname
    return await fetch(`${base}${forwarded}${search}`, options)
  }
}

t.test('oauth4webapi discovers the server from an issuer with a path, logs in, refreshes and revokes', async (t) => {
  const app = buildTestApp(t, { env: { JWT_ISSUER: ISSUER.href } })
  const proxy = proxyTo(await app.listen({ host: '127.0.0.1', port: 0 }))
  const options = { [oauth.customFetch]: proxy }
  const client: oauth.Client = { client_id: 'any' }
  const none = oauth.None()

  // API.md "Tokens": RFC 8414 metadata; the library checks that its issuer is the one it asked for.
  const as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: 'oauth2' }))
  t.match(as, { issuer: ISSUER.href, token_endpoint: 'https://auth.example/tenant/token', revocation_endpoint: 'https://auth.example/tenant/revoke' })

  // API.md "Tokens": the password grant (RFC 6749 §4.3) and its token response.
  const login = await oauth.processGenericTokenEndpointResponse(as, client,
    await oauth.genericTokenEndpointRequest(as, client, none, 'password',
      { username: 'bob', password: 'secret3', scope: 'items:read' }, options))
  t.match(login, { token_type: 'bearer', expires_in: 1800, scope: 'items:read', access_token: String, refresh_token: String })
  const me = await proxy(`${ISSUER.href}/users/me`, { headers: { authorization: `Bearer ${login.access_token}` } })
  t.equal(me.status, 200)

  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, none, login.refresh_token as string, options))
  t.match(refreshed, { token_type: 'bearer', scope: 'items:read', refresh_token: String })
  t.not(refreshed.refresh_token, login.refresh_token, 'rotated')

  // API.md "Tokens": POST /revoke (RFC 7009) answers 200; the revoked refresh token is then refused.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, none, refreshed.refresh_token as string, options))
  const refused = oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, none, refreshed.refresh_token as string, options))
  await t.rejects(refused, { name: 'ResponseBodyError', error: 'invalid_grant', status: 400 })
})

// The RFC 9068 check a resource server would make with this library: `typ` at+jwt, the signature
// through the published JWKS, and the claims it requires (`iss`, `exp`, `aud`, `sub`, `iat`, `jti`, `client_id`).
t.test('oauth4webapi validates our access tokens as RFC 9068 JWT access tokens, through the JWKS', async (t) => {
  const key = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_ISSUER: ISSUER.href, JWT_AUDIENCE: 'https://api.example', JWT_PRIVATE_KEY_FILE: key.privateKeyPath } })
  const options = { [oauth.customFetch]: proxyTo(await app.listen({ host: '127.0.0.1', port: 0 })) }
  const as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: 'oauth2' }))
  const token = await login(app, BOB)
  const request = new Request('https://api.example/items', { headers: { authorization: `Bearer ${token}` } })

  const claims = await oauth.validateJwtAccessToken(as, request, 'https://api.example', { ...options, signingAlgorithms: ['EdDSA'] })
  t.match(claims, { iss: ISSUER.href, aud: 'https://api.example', sub: 'bob', client_id: 'public', scope: 'items:read items:write', jti: String })
  await t.rejects(oauth.validateJwtAccessToken(as, request, 'https://other.example', options), { name: 'OperationProcessingError' })
})
