import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { currentUser } from '../plugins/auth.js'
import { PASSWORD_WRITES } from '../plugins/rate-limit.js'
import { clientKey } from '../src/client-address.js'
import { HttpError } from '../src/errors.js'
import { ErrorSchema } from '../src/schemas/common.js'
import { PasswordChangeSchema, UserSchema } from '../src/schemas/users.js'

const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/users/me', {
    schema: { summary: 'The user the token speaks for', tags: ['me'], response: { 200: UserSchema } }
  }, async (request) => {
    const user = await app.users.find(currentUser(request).username)
    if (user === undefined) throw new HttpError(404, 'User not found')
    return user
  })

  app.put('/users/me/password', {
    config: { rateLimit: PASSWORD_WRITES },
    schema: {
      summary: 'Change your password',
      description: 'Needs the current password. Every token of yours, this one included, stops working.',
      tags: ['me'],
      body: PasswordChangeSchema,
      response: { 204: Type.Null(), 400: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema }
    }
  }, async (request, reply) => {
    const { username } = currentUser(request)
    // A wrong current password is a failed login (API.md "Routes"): the same throttle as /token, so a
    // stolen access token is no unlimited password oracle.
    if (await app.credentials.check(request, username, request.body.current_password, 'password_change') === undefined) {
      throw new HttpError(400, 'The current password is wrong')
    }
    await app.users.update(username, { password_hash: await app.passwords.hash(request.body.new_password, clientKey(request.ip)) })
    app.securityEvent(request, 'password_changed', { username })
    return await reply.code(204).send(null)
  })
}

export default me
