import { Type, type Static } from '@sinclair/typebox'
import { Nullable } from './common.js'

export const ItemSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Nullable(Type.String()),
  owner: Type.String(),
  created_at: Type.String({ format: 'date-time' })
})
export type Item = Static<typeof ItemSchema>

export const ItemListSchema = Type.Object({ items: Type.Array(ItemSchema), total: Type.Integer() })

export const NewItemSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 1000 })))
}, { additionalProperties: false })

export const ItemParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) })
