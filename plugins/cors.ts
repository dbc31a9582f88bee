import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../src/config.js'

/**
 * Cross-origin access only for the origins in CORS_ORIGINS; none when unset. Bearer tokens travel in
 * a header, never in cookies, so credentials stay off.
 */
async function corsPolicy (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  if (config.corsOrigins.length === 0) return
  await app.register(cors, {
    origin: config.corsOrigins,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    // Lets a browser client read why it was refused and when to retry.
    exposedHeaders: ['WWW-Authenticate', 'Retry-After'],
    maxAge: 600
  })
}

export default fp(corsPolicy, { name: 'cors' })
