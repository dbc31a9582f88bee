import { Type, type Static } from '@sinclair/typebox'

const field = (maxLength: number, description: string) => Type.Optional(Type.String({ maxLength, description }))

// RFC 6749 §4.3.2 and §6. Unknown fields such as client_id are allowed and ignored (§3.2).
export const TokenRequestSchema = Type.Object({
  grant_type: field(64, '`password` (default) or `refresh_token`'),
  username: field(256, 'For the password grant; case-sensitive'),
  password: field(1024, 'For the password grant; 1 to 1024 characters'),
  scope: field(1024, 'Space-delimited; absent means every scope your roles allow'),
  refresh_token: field(1024, 'For the refresh_token grant')
}, { additionalProperties: true })
export type TokenRequest = Static<typeof TokenRequestSchema>

export const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.String({ description: 'Opaque, single use: each refresh returns a new one' })
})
export type TokenResponse = Static<typeof TokenResponseSchema>

// RFC 7009 §2.1. Unknown fields such as client_id are ignored, as at /token.
export const RevokeRequestSchema = Type.Object({
  token: field(4096, 'A refresh token, or an access token: either revokes its whole login'),
  token_type_hint: field(64, '`refresh_token` or `access_token`; optional, and not needed')
}, { additionalProperties: true })
export type RevokeRequest = Static<typeof RevokeRequestSchema>

export const RevokeResponseSchema = Type.Object({}, {
  additionalProperties: false,
  description: 'RFC 7009 §2.2: also for an unknown token'
})

export const OAuthErrorSchema = Type.Object({
  error: Type.String(),
  error_description: Type.String()
}, { description: 'RFC 6749 §5.2 error' })
