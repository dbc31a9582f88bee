import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { StatusSchema } from '../src/schemas/common.js'
import { RETRY_AFTER } from '../src/unavailable.js'
import { Type } from '@sinclair/typebox'

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    config: { public: true },
    schema: { summary: 'Liveness: the process answers', tags: ['health'], response: { 200: StatusSchema } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    config: { public: true },
    schema: {
      summary: 'Readiness: the database answers',
      tags: ['health'],
      response: { 200: StatusSchema, 503: Type.Object({ status: Type.Literal('unavailable') }) }
    }
  }, async (request, reply) => {
    try {
      await app.store.checkReady()
      return { status: 'ok' as const }
    } catch (err) {
      request.log.error({ err }, 'database does not answer')
      // RFC 9110 §10.2.3, as every other 503 here: when a load balancer's probe may ask again.
      return await reply.code(503).headers(RETRY_AFTER).send({ status: 'unavailable' as const })
    }
  })
}

export default health
