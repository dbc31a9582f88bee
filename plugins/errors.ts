import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { unavailable } from '../src/unavailable.js'

/** The one root error handler: Fastify's shape, a 4xx's headers kept, 5xx masked and logged. */
async function errors (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError & { headers?: Record<string, string> }, request, reply) => {
    const refused = unavailable(err, request.id)
    if (refused !== undefined) {
      if (refused.cause === 'busy') request.log.warn('request shed: too many password operations at once')
      else request.log.error({ err }, 'request failed: database unavailable')
      return reply.code(refused.statusCode).headers(refused.headers)
        .send({ statusCode: refused.statusCode, error: STATUS_CODES[refused.statusCode], message: refused.message })
    }
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (statusCode >= 500) {
      request.log.error({ err }, 'request failed')
      // A masked 5xx names no more than a server error; only a 503 says that retrying may help.
      const error = STATUS_CODES[statusCode === 503 ? 503 : 500]
      return reply.code(statusCode).send({ statusCode, error, message: `Something went wrong; quote request id ${request.id}` })
    }
    // Only an error below 500 chooses its headers: a library's 5xx may carry an upstream response's.
    if (err.headers !== undefined) reply.headers(err.headers)
    return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message })
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.replace(/\?.*/, '')
    return reply.code(404).send({ statusCode: 404, error: STATUS_CODES[404], message: `Route ${request.method}:${path} not found` })
  })
}

export default fp(errors, { name: 'errors' })
