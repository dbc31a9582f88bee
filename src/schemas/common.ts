import { Type, type Static } from '@sinclair/typebox'

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

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
