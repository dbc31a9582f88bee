import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
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
  /** Fastify's logger option (pino at config.logLevel by default); redaction is always added. */
  logger?: FastifyServerOptions['logger']
  /** 'test' makes argon2 cheap; never use it for real passwords. */
  hashCost?: HashCost
  /** Clock in milliseconds, for tests that move time. */
  now?: () => number
}

/** Builds the app, un-booted: `listen`, `inject` and `ready` boot it. No I/O happens here. */
export function buildApp ({ config, logger, hashCost = 'owasp', now = Date.now }: AppOptions): FastifyInstance {
  const logging = loggerOptions(config, logger)
  const app = Fastify({
    logger: logging,
    // One access line per request, and request.log's child logger built only when used (plugins/access-log.ts).
    ...(logging === false ? {} : { logController: new AccessLog(), childLoggerFactory: lazyChildLogger }),
    bodyLimit: 1024 * 1024,
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
    path: config.databasePath, url: config.databaseUrl, demoUsers: config.demoUsers, now, accessTokenTtl: config.accessTokenTtl, refreshTokenTtl: config.refreshTokenTtl
  })
  app.register(securityEvents)
  // Off unless METRICS_PORT is set: then its onResponse hook, added before any route, sees them all.
  if (config.metricsPort !== undefined) app.register(metrics, { host: config.host, port: config.metricsPort })
  app.register(credentials, { config })
  app.register(docs, { config })
  app.register(auth, { config })

  app.register(health)
  app.register(oauth)
  app.register(wellKnown, { config })
  app.register(openapi)
  app.register(me)
  app.register(hello)
  app.register(items)
  app.register(users)
  return app
}

function loggerOptions (config: Config, logger: AppOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false) return false
  const options = typeof logger === 'object' ? logger : {}
  return {
    level: config.logLevel,
    ...options,
    redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
    formatters: { ...options.formatters, log: (object) => redactNestedSecrets(options.formatters?.log?.(object) ?? object) },
    serializers: { ...options.serializers, req: serializeRequest }
  }
}

