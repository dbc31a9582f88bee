import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * Helmet's headers on every answer. The API answers JSON only, so its policy allows nothing to load,
 * run or frame it; Swagger UI's pages carry their own policy (plugins/docs.ts).
 */
async function securityHeaders (app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    frameguard: { action: 'deny' },
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] }
    }
  })
}

export default fp(securityHeaders, { name: 'security-headers' })
