import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { isDatabaseFault } from '../src/store/errors.js'
import { HasherBusyError } from '../src/passwords.js'

/** The one root error handler: Fastify's shape, a 4xx's headers kept, 5xx masked and logged. */
async function errors (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError & { headers?: Record<string, string> }, request, reply) => {
    const statusCode = isDatabaseFault(err) ? 503 : err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (err instanceof HasherBusyError) {
      request.log.warn('request shed: too many password operations at once')
      return reply.code(503).headers(err.headers).send({ statusCode, error: 'Service Unavailable', message: 'Too many password operations at once; retry shortly' })
    }
    if (statusCode >= 500) {
      request.log.error({ err }, 'request failed')
      // API.md "Several instances": an unreachable database is answered 503 with Retry-After.
      if (statusCode === 503) reply.header('retry-after', '1')
      return reply.code(statusCode).send({ statusCode, error: statusCode === 503 ? 'Service Unavailable' : 'Internal Server Error', message: `Something went wrong; quote request id ${request.id}` })
    }
    // Only an error below 500 chooses its headers: a library's 5xx may carry an upstream response's.
    if (err.headers !== undefined) reply.headers(err.headers)
    return reply.code(statusCode).send({ statusCode, error: reasonPhrase(statusCode), message: err.message })
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `Route ${request.method}:${request.url.split('?')[0] ?? ''} not found` })
  })
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large'
}

function reasonPhrase (statusCode: number): string {
  return REASONS[statusCode] ?? 'Error'
}

export default fp(errors, { name: 'errors' })
