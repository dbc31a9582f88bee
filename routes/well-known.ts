import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../src/config.js'
import { ALL_SCOPES } from '../src/policy.js'
import { AuthorizationServerMetadataSchema, JwksSchema, type AuthorizationServerMetadata } from '../src/schemas/well-known.js'

// Resource servers refetch on an unknown kid; a short cache keeps a key rotation quick to reach them.
const CACHE_FOR_A_MINUTE = { 'cache-control': 'public, max-age=60' }

/** RFC 8414 §2 metadata: endpoints are absolute URLs under the issuer (API.md "Tokens"). */
function authorizationServerMetadata (issuer: string): AuthorizationServerMetadata {
  const base = issuer.replace(/\/+$/, '')
  return {
    issuer,
    token_endpoint: `${base}/token`,
    revocation_endpoint: `${base}/revoke`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    scopes_supported: [...ALL_SCOPES],
    grant_types_supported: ['password', 'refresh_token'],
    // No authorization endpoint, so no response types (RFC 8414 §2 requires the member).
    response_types_supported: [],
    // Public clients only: client credentials are ignored.
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none']
  }
}

const wellKnown: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const metadata = authorizationServerMetadata(config.issuer)

  app.get('/.well-known/jwks.json', {
    config: { public: true },
    schema: {
      summary: 'Public keys that verify access tokens (JWKS)',
      description: 'RFC 7517. Each key has `kid` = its RFC 7638 thumbprint, `alg` and `use: sig`. Empty when tokens are signed with HS256.',
      tags: ['oauth'],
      response: { 200: JwksSchema }
    }
  }, async (_request, reply) => await reply.headers(CACHE_FOR_A_MINUTE).send(app.tokens.jwks))

  app.get('/.well-known/oauth-authorization-server', {
    config: { public: true },
    schema: {
      summary: 'Authorization server metadata',
      description: 'RFC 8414.',
      tags: ['oauth'],
      response: { 200: AuthorizationServerMetadataSchema }
    }
  }, async (_request, reply) => await reply.headers(CACHE_FOR_A_MINUTE).send(metadata))
}

export default wellKnown
