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
  refresh_token: Type.Optional(Type.String())
})
export type TokenResponse = Static<typeof TokenResponseSchema>

export const OAuthErrorSchema = Type.Object({
  error: Type.String(),
  error_description: Type.String()
}, { description: 'RFC 6749 §5.2 error' })
