import { Type, type Static } from '@sinclair/typebox'
import { ALL_ROLES } from '../policy.js'
import { Nullable } from './common.js'

export const UsernameSchema = Type.String({
  pattern: '^[a-z0-9][a-z0-9_.-]{2,31}$',
  description: 'Lower-case letters, digits and . _ -, 3 to 32 characters'
})
export const NewPasswordSchema = Type.String({ minLength: 8, maxLength: 1024 })
export const RolesSchema = Type.Array(Type.Union(ALL_ROLES.map((role) => Type.Literal(role))), { uniqueItems: true })
export const EmailSchema = Type.String({ format: 'email', maxLength: 254 })
export const FullNameSchema = Type.String({ minLength: 1, maxLength: 200 })

/** A user as the API shows it: no password hash, no token generation. */
export const UserSchema = Type.Object({
  username: Type.String(),
  email: Nullable(Type.String()),
  full_name: Nullable(Type.String()),
  disabled: Type.Boolean(),
  roles: Type.Array(Type.String())
})
export type User = Static<typeof UserSchema>

export const UserListSchema = Type.Object({ users: Type.Array(UserSchema), total: Type.Integer() })

export const UsernameParamsSchema = Type.Object({ username: Type.String({ maxLength: 64 }) })

export const CreateUserSchema = Type.Object({
  username: UsernameSchema,
  password: NewPasswordSchema,
  roles: RolesSchema,
  email: Type.Optional(Nullable(EmailSchema)),
  full_name: Type.Optional(Nullable(FullNameSchema)),
  disabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false })
export type CreateUser = Static<typeof CreateUserSchema>

export const UpdateUserSchema = Type.Object({
  password: Type.Optional(NewPasswordSchema),
  roles: Type.Optional(RolesSchema),
  email: Type.Optional(Nullable(EmailSchema)),
  full_name: Type.Optional(Nullable(FullNameSchema)),
  disabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type UpdateUser = Static<typeof UpdateUserSchema>

export const PasswordChangeSchema = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: NewPasswordSchema
}, { additionalProperties: false })
