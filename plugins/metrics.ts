import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createMetrics, type Metrics } from '../src/metrics.js'
import { HasherBusyError } from '../src/passwords.js'

export interface MetricsEndpoint {
  /** The text GET /metrics answers. */
  text: () => Promise<string>
  /**
   * Serves GET /metrics on `host`:`port` (METRICS_PORT by default; tests give 0) and resolves with
   * the port. Only server.ts calls it for real, once the API listens; the server closes with the app.
   */
  listen: (port?: number) => Promise<number>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present only when METRICS_PORT is set. */
    metrics: MetricsEndpoint
  }
}

export interface MetricsPluginOptions { host: string, port: number }

// The route whose 503 for busy hashing is a shed login; routes/oauth.ts answers it before or after the body.
const TOKEN_ROUTE = '/token'
// A request that 404s matched no route: its URL is the client's, so it is never a label.
const UNMATCHED = 'unmatched'

async function metrics (app: FastifyInstance, { host, port: defaultPort }: MetricsPluginOptions): Promise<void> {
  // plugins/auth.ts decorates verifiedTokens after this plugin loads; these run only when scraped.
  const counts: Metrics = createMetrics({
    hashing: () => app.passwords.load(),
    verifiedTokens: () => ({ ...app.verifiedTokens.counts(), size: app.verifiedTokens.size() })
  })
  app.onSecurityEvent((event) => { counts.securityEvent(event) })

  // Requests that erred at /token: their 503 (a database fault, or a HasherBusyError counted below)
  // is told apart from the shed that routes/oauth.ts sends in onRequest, before any error can occur.
  const erredAtToken = new WeakSet<FastifyRequest>()
  app.addHook('onError', async (request, _reply, error) => {
    if (request.routeOptions.url !== TOKEN_ROUTE) return
    erredAtToken.add(request)
    if (error instanceof HasherBusyError) counts.login('shed')
  })

  // The one per-request cost: a histogram observation (measured in README "Metrics").
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED
    const status = reply.statusCode
    counts.request(request.method, route, status, reply.elapsedTime / 1000)
    // API.md "Tokens": the shed answer carries Retry-After; Fastify's own 503 while closing does not.
    if (status === 503 && route === TOKEN_ROUTE && !erredAtToken.has(request) && reply.hasHeader('retry-after')) counts.login('shed')
    done()
  })

  const server = createServer((request, response) => {
    serve(request, response).catch((err: unknown) => {
      app.log.error({ err }, 'metrics scrape failed')
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected\n')
    })
  })
  // API.md "Running": no connection is held open without end, here either.
  server.requestTimeout = 30_000
  server.headersTimeout = 30_000

  async function serve (request: IncomingMessage, response: ServerResponse): Promise<void> {
    // node:http sets url on every request a server receives.
    const path = (request.url as string).split('?', 1)[0]
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n')
      return
    }
    const text = await counts.text()
    response.writeHead(200, { 'content-type': counts.contentType, 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : text)
  }

  app.decorate('metrics', {
    text: counts.text,
    async listen (port = defaultPort) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port }, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const bound = (server.address() as AddressInfo).port
      app.log.info({ host, port: bound }, 'metrics served at /metrics')
      return bound
    }
  })

  app.addHook('onClose', async () => {
    if (!server.listening) return
    const closed = new Promise((resolve) => server.close(resolve))
    // A scraper keeps its connection open between scrapes; it must not hold the shutdown.
    server.closeIdleConnections()
    await closed
  })
}

export default fp(metrics, { name: 'metrics', dependencies: ['passwords', 'security-events'] })
