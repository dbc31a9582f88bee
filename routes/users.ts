import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PASSWORD_WRITES } from '../plugins/rate-limit.js'
import { currentUser } from '../plugins/auth.js'
import { clientKey } from '../src/client-address.js'
import { HttpError } from '../src/errors.js'
import { UsernameTakenError } from '../src/store/users.js'
import { ErrorSchema, PageQuerySchema } from '../src/schemas/common.js'
import { CreateUserSchema, UpdateUserSchema, UserListSchema, UserSchema, UsernameParamsSchema } from '../src/schemas/users.js'

const USER_NOT_FOUND = 'User not found'

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/users', {
    config: { roles: ['admin'], scopes: ['users:read'] },
    schema: { summary: 'List users', tags: ['users'], querystring: PageQuerySchema, response: { 200: UserListSchema } }
  }, async (request) => await app.users.list(request.query))

  app.post('/users', {
    config: { roles: ['admin'], scopes: ['users:write'], rateLimit: PASSWORD_WRITES },
    schema: {
      summary: 'Create a user',
      tags: ['users'],
      body: CreateUserSchema,
      response: { 201: UserSchema, 409: ErrorSchema, 429: ErrorSchema }
    }
  }, async (request, reply) => {
    const { password, ...user } = request.body
    try {
      const passwordHash = await app.passwords.hash(password, clientKey(request.ip))
      const created = await app.users.create({ ...user, password_hash: passwordHash }, new Date(app.now()))
      app.securityEvent(request, 'user_created', { username: created.username, actor: currentUser(request).username })
      return await reply.code(201).send(created)
    } catch (err) {
      if (err instanceof UsernameTakenError) throw new HttpError(409, err.message)
      throw err
    }
  })

  app.patch('/users/:username', {
    config: { roles: ['admin'], scopes: ['users:write'], rateLimit: PASSWORD_WRITES },
    schema: {
      summary: 'Change a user',
      description: 'A new password, roles or disabled flag revokes every token the user holds.',
      tags: ['users'],
      params: UsernameParamsSchema,
      body: UpdateUserSchema,
      response: { 200: UserSchema, 404: ErrorSchema, 429: ErrorSchema }
    }
  }, async (request) => {
    const { password, ...changes } = request.body
    const passwordHash = password === undefined ? undefined : await app.passwords.hash(password, clientKey(request.ip))
    const user = await app.users.update(request.params.username, { ...changes, password_hash: passwordHash })
    if (user === undefined) throw new HttpError(404, USER_NOT_FOUND)
    // The names of the fields sent, never their values.
    app.securityEvent(request, 'user_updated', {
      username: user.username, actor: currentUser(request).username, changes: Object.keys(request.body).sort()
    })
    return user
  })

  app.delete('/users/:username', {
    config: { roles: ['admin'], scopes: ['users:write'] },
    schema: {
      summary: 'Delete a user and their items',
      tags: ['users'],
      params: UsernameParamsSchema,
      response: { 204: Type.Null(), 404: ErrorSchema }
    }
  }, async (request, reply) => {
    if (!await app.users.delete(request.params.username)) throw new HttpError(404, USER_NOT_FOUND)
    app.securityEvent(request, 'user_deleted', { username: request.params.username, actor: currentUser(request).username })
    return await reply.code(204).send(null)
  })
}

export default users
