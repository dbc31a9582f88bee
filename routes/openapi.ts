import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const openapi: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/openapi.json', {
    config: { public: true },
    schema: {
      summary: 'This OpenAPI 3 document',
      tags: ['docs'],
      response: { 200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3 document' }) }
    }
  }, async () => app.swagger() as unknown as Record<string, unknown>)
}

export default openapi
