import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../src/config.js'
import { ALL_SCOPES } from '../src/policy.js'
import { AuthorizationServerMetadataSchema, JwksSchema, type AuthorizationServerMetadata } from '../src/schemas/well-known.js'

// Resource servers refetch on an unknown kid; a short cache keeps a key rotation quick to reach them.
const CACHE_FOR_A_MINUTE = { 'cache-control': 'public, max-age=60' }

/** RFC 8414 §2 metadata: endpoints are absolute URLs under `base`, the issuer when it is one (API.md "Tokens"). */
function authorizationServerMetadata (issuer: string, base: string): AuthorizationServerMetadata {
  base = base.replace(/\/+$/, '')
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

const METADATA_PATH = '/.well-known/oauth-authorization-server'

/**
 * Where the metadata is served: always at METADATA_PATH, and for an issuer with a path also where
 * RFC 8414 §3.1 puts it (`https://host/tenant` → `/.well-known/oauth-authorization-server/tenant`),
 * which OAuth2 clients ask for when they discover the server from its issuer.
 * `problem` says why a configured issuer does not suit discovery.
 */
export function metadataLocations (issuer: string): { paths: string[], issuerIsUrl: boolean, problem?: string } {
  const only = (problem: string, issuerIsUrl = false) => ({ paths: [METADATA_PATH], issuerIsUrl, problem })
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    return only('is not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return only('is not an http(s) URL')
  if (url.search !== '' || url.hash !== '') return only('has a query or a fragment')
  const suffix = url.pathname.replace(/\/+$/, '')
  if (suffix === '') return { paths: [METADATA_PATH], issuerIsUrl: true }
  // A route path: no parameter (`:`), wildcard (`*`) or percent-encoding in it.
  if (!/^(\/[\w.~-]+)+$/.test(suffix)) return only(`has a path (${suffix}) this server cannot route`, true)
  return { paths: [METADATA_PATH, METADATA_PATH + suffix], issuerIsUrl: true }
}

const wellKnown: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const locations = metadataLocations(config.issuer)
  if (locations.problem !== undefined) {
    app.log.warn(`JWT_ISSUER ${locations.problem}: OAuth2 clients that discover this server from its issuer ` +
      `(RFC 8414 §3.1) will not find its metadata${locations.issuerIsUrl ? '' : `; it names its endpoints under ${config.origin}`}`)
  }
  const metadata = authorizationServerMetadata(config.issuer, locations.issuerIsUrl ? config.issuer : config.origin)

  app.get('/.well-known/jwks.json', {
    config: { public: true },
    schema: {
      summary: 'Public keys that verify access tokens (JWKS)',
      description: 'RFC 7517. Each key has `kid` = its RFC 7638 thumbprint, `alg` and `use: sig`. Empty when tokens are signed with HS256.',
      tags: ['oauth'],
      response: { 200: JwksSchema }
    }
  }, async (_request, reply) => await reply.headers(CACHE_FOR_A_MINUTE).send(app.tokens.jwks))

  for (const path of locations.paths) {
    app.get(path, {
      config: { public: true },
      schema: {
        summary: 'Authorization server metadata',
        description: path === METADATA_PATH ? 'RFC 8414.' : 'RFC 8414 §3.1: the same metadata, where the issuer\'s path puts it.',
        tags: ['oauth'],
        response: { 200: AuthorizationServerMetadataSchema }
      }
    }, async (_request, reply) => await reply.headers(CACHE_FOR_A_MINUTE).send(metadata))
  }
}

export default wellKnown
