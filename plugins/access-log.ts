// Request logs that cost little (issue 13 point 1). Not an fp plugin: Fastify takes both seams at
// construction (`logController`, `childLoggerFactory`), and an `onResponse` hook would add a hook
// run to every request where Fastify already calls `requestCompleted`.
//
// Fastify's default writes two lines per request ("incoming request", "request completed") through a
// pino child logger built for every request. Measured on GET /admin-only, that halved throughput at
// LOG_LEVEL=info (13.2k vs 26.5k req/s at warn). Here a request writes ONE line, through the parent
// logger with `reqId` as a field, and `request.log` builds its child only when something logs through it.
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { scrubUrl, writeAccessLine } from '../src/logging.js'

/** pino's logger, which is what buildApp gives Fastify whenever logging is on. */
interface PinoLike extends FastifyBaseLogger {
  isLevelEnabled (level: string): boolean
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

export class AccessLog extends LogController {
  /** At debug only: at the default level, the access line below is the request's one line. */
  override incomingRequest (request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }

  /**
   * The access line: method, URL (credential parameters scrubbed), route, status, time in ms, reqId,
   * and the user when a token named one. Written through the parent logger, so no child is built for it,
   * and built by hand (src/logging.ts).
   */
  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error !== null && error !== undefined) {
      reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
      return
    }
    // request.log carries a route's own `logLevel`; the line itself goes through the parent.
    if (!(request.log as PinoLike).isLevelEnabled('info')) return
    writeAccessLine(request.server.log, {
      reqId: request.id,
      method: request.method,
      url: scrubUrl(request.url),
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
      user: request.user?.username
    })
  }
}

/**
 * `request.log`, whose pino child (with the request's bindings) is built on the first call at an
 * enabled level: most requests never log through it, and building one costs about 0.5 µs.
 */
class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined
  readonly #parent: PinoLike
  readonly #bindings: Record<string, unknown>

  constructor (parent: PinoLike, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }

  #real (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }

  #write (level: Level, args: unknown[]): void {
    if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return
    const logger = this.#real()
    Reflect.apply(logger[level], logger, args)
  }

  get level (): string { return (this.#child ?? this.#parent).level }
  set level (level: string) { this.#real().level = level }
  isLevelEnabled (level: string): boolean { return (this.#child as PinoLike | undefined ?? this.#parent).isLevelEnabled(level) }
  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}
  child (...args: Parameters<FastifyBaseLogger['child']>): FastifyBaseLogger { return this.#real().child(...args) }
}

/** Fastify's childLoggerFactory: lazy, unless the route sets its own level or serializers. */
export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = function (logger, bindings, options) {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options)
  return new RequestLogger(logger as PinoLike, bindings)
}
