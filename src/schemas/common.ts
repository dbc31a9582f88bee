import { Type, type Static, type TString, type TBoolean } from '@sinclair/typebox'

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
}, { description: 'Fastify error shape' })

export const MessageSchema = Type.Object({ message: Type.String() })

export const StatusSchema = Type.Object({ status: Type.Literal('ok') })

/**
 * API.md "Routes": `offset` 0..2⁵³−1. Above that (1e21, Infinity) a JavaScript number is still an
 * "integer" to Ajv, but it reaches SQLite as a double it cannot use as an OFFSET (a 500); up to
 * 2⁵³−1 every value is exact, and a page past the end is simply empty.
 */
export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })
}, { additionalProperties: false })
export type PageQuery = Static<typeof PageQuerySchema>

/**
 * A string that may be null, as OpenAPI 3.0 writes it (`nullable: true`). Ajv and fast-json-stringify
 * read the keyword too; an `anyOf` with null would make the serializer validate every value it writes.
 */
export const Nullable = <T extends TString | TBoolean>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true })
