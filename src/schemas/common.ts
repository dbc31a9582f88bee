import { Type, type Static, type TString, type TBoolean } from '@sinclair/typebox'

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
}, { description: 'Fastify error shape' })

export const MessageSchema = Type.Object({ message: Type.String() })

export const StatusSchema = Type.Object({ status: Type.Literal('ok') })

export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, default: 0 })
}, { additionalProperties: false })
export type PageQuery = Static<typeof PageQuerySchema>

/**
 * A string that may be null, as OpenAPI 3.0 writes it (`nullable: true`). Ajv and fast-json-stringify
 * read the keyword too; an `anyOf` with null would make the serializer validate every value it writes.
 */
export const Nullable = <T extends TString | TBoolean>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true })
