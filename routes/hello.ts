import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MessageSchema } from '../src/schemas/common.js'

const hello: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/admin-only', {
    config: { roles: ['admin'] },
    schema: { summary: 'Greets admins', tags: ['examples'], response: { 200: MessageSchema } }
  }, async () => ({ message: 'Hello, admin!' }))

  app.get('/client-only', {
    config: { roles: ['client'] },
    schema: { summary: 'Greets clients', tags: ['examples'], response: { 200: MessageSchema } }
  }, async () => ({ message: 'Hello, client!' }))
}

export default hello
