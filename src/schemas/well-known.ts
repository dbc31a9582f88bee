import { Type, type Static } from '@sinclair/typebox'

// RFC 7517 §4 and RFC 8037 §2 (OKP) / RFC 7518 §6.3.1 (RSA): public members only.
export const JwkSchema = Type.Object({
  kty: Type.Union([Type.Literal('OKP'), Type.Literal('RSA')]),
  kid: Type.String({ description: 'RFC 7638 thumbprint' }),
  alg: Type.Union([Type.Literal('EdDSA'), Type.Literal('RS256')]),
  use: Type.Literal('sig'),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String())
})

export const JwksSchema = Type.Object({ keys: Type.Array(JwkSchema) }, { description: 'RFC 7517 JWK set' })

export const AuthorizationServerMetadataSchema = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  jwks_uri: Type.String(),
  scopes_supported: Type.Array(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String())
}, { description: 'RFC 8414 §2 authorization server metadata' })
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadataSchema>
