import t from 'tap'
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify } from 'jose'
import type { AddressInfo } from 'node:net'
import { parsePublicKey } from '../../src/keys.js'
import { BOB, buildTestApp, login } from '../helper.js'
import { keyFiles } from '../key-files.js'
import { buildLoggedApp } from '../logs.js'
import { metadataLocations } from '../../routes/well-known.js'

// API.md "Tokens": GET /.well-known/jwks.json - {"keys": []} under HS256.
t.test('the JWKS is empty under HS256', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'public, max-age=60')
  t.same(res.json(), { keys: [] })
})

t.test('the JWKS publishes the signing key and the previous keys, public members only, each with kid, alg and use', async (t) => {
  const current = keyFiles(t, 'ed25519')
  const previous = keyFiles(t, 'rsa')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: current.privateKeyPath, JWT_PREVIOUS_PUBLIC_KEYS: previous.publicKeyPath } })
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  const { keys } = res.json<{ keys: Array<Record<string, string>> }>()
  t.equal(keys.length, 2)
  t.same(keys[0], parsePublicKey(current.publicKeyPem).jwk)
  t.same(keys[1], parsePublicKey(previous.publicKeyPem).jwk)
  t.match(keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
  t.match(keys[1], { kty: 'RSA', e: 'AQAB', alg: 'RS256', use: 'sig' })
  for (const key of keys) t.notOk('d' in key || 'p' in key || 'q' in key, 'no private member')
})

// API.md "Tokens": RFC 8414 metadata.
t.test('the authorization server metadata names the endpoints as absolute URLs under the issuer', async (t) => {
  const app = buildTestApp(t, { env: { JWT_ISSUER: 'https://auth.example/' } })
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'public, max-age=60')
  t.same(res.json(), {
    issuer: 'https://auth.example/',
    token_endpoint: 'https://auth.example/token',
    revocation_endpoint: 'https://auth.example/revoke',
    jwks_uri: 'https://auth.example/.well-known/jwks.json',
    scopes_supported: ['items:read', 'items:write', 'users:read', 'users:write'],
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none']
  })
})

t.test('the metadata defaults its issuer to the listen address', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  t.match(res.json(), { issuer: 'http://127.0.0.1:3000', token_endpoint: 'http://127.0.0.1:3000/token' })
})

// RFC 8414 §3.1: for an issuer with a path, the metadata is also where the path puts it (test/client/oauth4webapi.test.ts
// discovers it that way); any other suffix is not found.
t.test('an issuer with a path has its metadata also at /.well-known/oauth-authorization-server/<path>', async (t) => {
  const app = buildTestApp(t, { env: { JWT_ISSUER: 'https://auth.example/tenant/' } })
  for (const url of ['/.well-known/oauth-authorization-server/tenant', '/.well-known/oauth-authorization-server']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'public, max-age=60')
    t.match(res.json(), { issuer: 'https://auth.example/tenant/', token_endpoint: 'https://auth.example/tenant/token' })
  }
  t.equal((await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server/other' })).statusCode, 404)
})

t.test('metadataLocations: where the metadata is served, and why an issuer does not suit discovery', async (t) => {
  const plain = '/.well-known/oauth-authorization-server'
  t.same(metadataLocations('http://127.0.0.1:3000'), { paths: [plain], issuerIsUrl: true })
  t.same(metadataLocations('https://auth.example/'), { paths: [plain], issuerIsUrl: true })
  t.same(metadataLocations('https://auth.example/a/b-c.d_e~f//'), { paths: [plain, `${plain}/a/b-c.d_e~f`], issuerIsUrl: true })
  t.same(metadataLocations('my-api'), { paths: [plain], issuerIsUrl: false, problem: 'is not a URL' })
  t.same(metadataLocations('urn:example:api'), { paths: [plain], issuerIsUrl: false, problem: 'is not an http(s) URL' })
  t.same(metadataLocations('https://auth.example/?tenant=1'), { paths: [plain], issuerIsUrl: false, problem: 'has a query or a fragment' })
  t.same(metadataLocations('https://auth.example/#x'), { paths: [plain], issuerIsUrl: false, problem: 'has a query or a fragment' })
  t.same(metadataLocations('https://auth.example/a:b'), { paths: [plain], issuerIsUrl: true, problem: 'has a path (/a:b) this server cannot route' })
  t.same(metadataLocations('https://auth.example/caf%C3%A9'), { paths: [plain], issuerIsUrl: true, problem: 'has a path (/caf%C3%A9) this server cannot route' })
})

// README "Choices": any JWT_ISSUER is accepted as the tokens' `iss` (RFC 7519 allows any string), with a warning
// when OAuth2 discovery cannot work; the endpoints are then named under the listen address.
t.test('an issuer that is not an http(s) URL is kept, with a warning, and the endpoints are under the listen address', async (t) => {
  const { app, lines } = buildLoggedApp(t, { JWT_ISSUER: 'my-api' })
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { issuer: 'my-api', token_endpoint: 'http://127.0.0.1:3000/token', jwks_uri: 'http://127.0.0.1:3000/.well-known/jwks.json' })
  t.same(lines().filter((line) => line.level === 40).map((line) => line.msg), [
    'JWT_ISSUER is not a URL: OAuth2 clients that discover this server from its issuer (RFC 8414 §3.1) will not find its metadata; ' +
    'it names its endpoints under http://127.0.0.1:3000'
  ])
  const token = await login(app, BOB)
  t.equal(decodeJwt(token).iss, 'my-api')
  t.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
})

t.test('the well-known documents are public, in the OpenAPI document without security', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  const paths = res.json<{ paths: Record<string, { get?: { security?: unknown[] }, post?: { security?: unknown[] } }> }>().paths
  t.same(paths['/.well-known/jwks.json']?.get?.security, [])
  t.same(paths['/.well-known/oauth-authorization-server']?.get?.security, [])
  t.same(paths['/revoke']?.post?.security, [])
})

// The way another service checks our tokens: only the JWKS URL, the issuer and the audience.
t.test('a resource server using jose verifies our access tokens through the JWKS URL alone', async (t) => {
  const key = keyFiles(t, 'ed25519')
  const env = { JWT_PRIVATE_KEY_FILE: key.privateKeyPath, JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'https://api.example' }
  const app = buildTestApp(t, { env })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`))

  const token = await login(app, BOB)
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: 'https://auth.example', audience: 'https://api.example', typ: 'at+jwt', algorithms: ['EdDSA', 'RS256']
  })
  t.match(protectedHeader, { alg: 'EdDSA', typ: 'at+jwt', kid: parsePublicKey(key.publicKeyPem).kid })
  t.match(payload, {
    iss: 'https://auth.example',
    aud: 'https://api.example',
    sub: 'bob',
    scope: 'items:read items:write',
    roles: ['client']
  })

  await t.rejects(jwtVerify(token, jwks, { issuer: 'https://other.example', audience: 'https://api.example', typ: 'at+jwt' }),
    errors.JWTClaimValidationFailed)
  const [header, body] = token.split('.')
  await t.rejects(jwtVerify(`${header ?? ''}.${body ?? ''}.${'A'.repeat(86)}`, jwks,
    { issuer: 'https://auth.example', audience: 'https://api.example' }),
  errors.JWSSignatureVerificationFailed)
})
