import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { FastifyInstance } from 'fastify'

/**
 * The API answers JSON only, so its policy allows nothing to load, run or frame it; Swagger UI's
 * pages carry their own policy (plugins/docs.ts).
 */
const API_HELMET_OPTIONS: HelmetOptions = {
  frameguard: { action: 'deny' },
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] }
  }
}

/** The headers helmet's middleware sets, recorded once: with these options none depends on the request. */
function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
}

/**
 * Helmet's headers on every answer. Not @fastify/helmet: it builds helmet's middleware again on
 * every request, parsing the policy each time, about a quarter of a /health answer's CPU.
 */
async function securityHeaders (app: FastifyInstance): Promise<void> {
  const headers = helmetHeaders(API_HELMET_OPTIONS)
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}

export default fp(securityHeaders, { name: 'security-headers' })
