import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createAjv } from './validation.js'
import type { Config } from './config.js'
import type { HashCost } from './passwords.js'
import { REDACTED, REDACTED_PATHS, redactNestedSecrets, serializeRequest } from './logging.js'
import { AccessLog, lazyChildLogger } from '../plugins/access-log.js'
import errors from '../plugins/errors.js'
import shutdown from '../plugins/shutdown.js'
import securityHeaders from '../plugins/security-headers.js'
import cors from '../plugins/cors.js'
import jsonBody from '../plugins/json-body.js'
import rateLimit from '../plugins/rate-limit.js'
import passwords from '../plugins/passwords.js'
import db from '../plugins/db.js'
import securityEvents from '../plugins/security-events.js'
import metrics from '../plugins/metrics.js'
import credentials from '../plugins/credentials.js'
import docs from '../plugins/docs.js'
import auth from '../plugins/auth.js'
import health from '../routes/health.js'
import oauth from '../routes/oauth.js'
import wellKnown from '../routes/well-known.js'
import openapi from '../routes/openapi.js'
import me from '../routes/me.js'
import hello from '../routes/hello.js'
import items from '../routes/items.js'
import users from '../routes/users.js'

export interface AppOptions {
  config: Config
  /**
   * false for no logs; else where pino writes (stdout by default) and its level (config.logLevel by
   * default). Nothing more: the access line is written as pino writes it with these options alone.
   */
  logger?: false | { stream?: { write (line: string): void }, level?: string }
  /** 'test' makes argon2 cheap; never use it for real passwords. */
  hashCost?: HashCost
  /** Clock in milliseconds, for tests that move time. */
  now?: () => number
  /** Milliseconds for a request's headers and body to arrive, else 408 (API.md "Running": 30 s). */
  requestTimeout?: number
  /** Milliseconds an idle keep-alive connection stays open between requests. */
  keepAliveTimeout?: number
  /**
   * Milliseconds a connection may stay silent in either direction (a client that stops reading a
   * large answer); twice requestTimeout by default, so a late request still gets its 408 first.
   */
  connectionTimeout?: number
}

/** API.md "Running": a request whose headers and body have not fully arrived within 30 s is answered 408. */
export const REQUEST_TIMEOUT = 30_000
/**
 * Fastify's own default, kept on purpose: longer than the 60 s idle timeout of common load
 * balancers, so the server never closes a connection that a balancer is about to reuse.
 */
export const KEEP_ALIVE_TIMEOUT = 72_000

/** Builds the app, un-booted: `listen`, `inject` and `ready` boot it. No I/O happens here. */
export function buildApp ({
  config, logger, hashCost = 'owasp', now = Date.now,
  requestTimeout = REQUEST_TIMEOUT, keepAliveTimeout = KEEP_ALIVE_TIMEOUT, connectionTimeout = 2 * requestTimeout
}: AppOptions): FastifyInstance {
  for (const [name, value] of Object.entries({ requestTimeout, keepAliveTimeout, connectionTimeout })) {
    // Fastify reads 0 as "never": exactly the slow-client hole these close (issue 12.4).
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds`)
  }
  const logging = loggerOptions(config, logger)
  const app = Fastify({
    logger: logging,
    // One access line per request, and request.log's child logger built only when used (plugins/access-log.ts).
    ...(logging === false ? {} : { logController: new AccessLog(), childLoggerFactory: lazyChildLogger }),
    bodyLimit: 1024 * 1024,
    // Node answers 408 once headers or body are late (headersTimeout, requestTimeout; a connection that
    // sends nothing at all included), but looks only every connectionsCheckingInterval: 30 s by
    // default, which would let a slow request last up to 60 s.
    requestTimeout,
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1_000, Math.ceil(requestTimeout / 4)) },
    connectionTimeout,
    keepAliveTimeout,
    return503OnClosing: true,
    // request.ip, which the login throttle and the rate limit key on, is the client's only behind a trusted proxy.
    trustProxy: config.trustProxy
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Bodies are validated as sent: unknown properties are a 400, not silently dropped (API.md "Routes"),
  // and `"roles": "admin"` is not coerced into an array. Query strings and params are text, so they coerce.
  const bodyValidator = createAjv({ coerceTypes: false })
  const textValidator = createAjv({ coerceTypes: 'array' })
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyValidator : textValidator).compile(schema))

  // Order matters: docs before auth keeps Swagger UI public; auth before routes guards them all.
  app.register(errors)
  app.register(shutdown)
  app.register(securityHeaders)
  app.register(cors, { config })
  app.register(jsonBody)
  app.register(rateLimit, { config, now })
  app.register(passwords, { hashCost })
  app.register(db, {
    path: config.databasePath,
    url: config.databaseUrl,
    demoUsers: config.demoUsers,
    now,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl
  })
  app.register(securityEvents)
  // Off unless METRICS_PORT is set: then its onResponse hook, added before any route, sees them all.
  if (config.metricsPort !== undefined) app.register(metrics, { host: config.host, port: config.metricsPort })
  app.register(credentials, { config })
  app.register(docs, { config })
  app.register(auth, { config })

  // One context for the route modules: Fastify builds a Request and a Reply class per context, and with
  // one per module the code every request runs met up to eight shapes of object (about 9% of the CPU of
  // GET /admin-only, README "Load benchmark"). The modules wrapped in fp add no hook, parser or error handler
  // of their own; routes/oauth.ts does, so it keeps its own context.
  app.register(async (routes) => {
    routes.register(fp(health))
    routes.register(oauth)
    routes.register(fp(wellKnown), { config })
    routes.register(fp(openapi))
    routes.register(fp(me))
    routes.register(fp(hello))
    routes.register(fp(items))
    routes.register(fp(users))
  })
  return app
}

function loggerOptions (config: Config, logger: AppOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false) return false
  return {
    level: config.logLevel,
    ...logger,
    redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
    formatters: { log: redactNestedSecrets },
    serializers: { req: serializeRequest }
  }
}
