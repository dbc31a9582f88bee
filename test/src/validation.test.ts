import { Type } from '@sinclair/typebox'
import t from 'tap'
import { CreateUserSchema } from '../../src/schemas/users.js'
import { createValidator } from '../../src/validation.js'

t.test('a valid value comes back as the value', async (t) => {
  const value = { username: 'alice', password: 'long enough', roles: ['client'], email: 'a@example.com' }
  t.same(createValidator(CreateUserSchema)(value), { value })
})

t.test('problems are worded per field: missing, unknown, format, pattern, length', async (t) => {
  const result = createValidator(CreateUserSchema)({ username: 'A', password: 'short', email: 'not-an-email', extra: 1 })
  t.same(result.problems?.slice().sort(), [
    'email must match format "email"',
    'extra is not a known field',
    'password must NOT have fewer than 8 characters',
    'roles is required',
    'username must match pattern "^[a-z0-9][a-z0-9_.-]{2,31}$"'
  ])
})

t.test('a nullable field reports its first error only, not the "must be null" of the union', async (t) => {
  t.same(createValidator(CreateUserSchema)({ username: 'alice', password: 'long enough', roles: [], full_name: 5 }).problems,
    ['full_name must be string'])
})

t.test('nested fields are named with dots, and a wrong top-level type is named "value"', async (t) => {
  const validate = createValidator(Type.Object({ profile: Type.Object({ age: Type.Integer() }) }))
  t.same(validate({ profile: { age: 'x' } }).problems, ['profile.age must be integer'])
  t.same(validate({ profile: {} }).problems, ['profile.age is required'])
  t.same(validate('x').problems, ['value must be object'])
})
