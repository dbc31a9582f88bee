import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createSecurityEvents, type SecurityEventFields, type SecurityEventName } from '../src/security-events.js'

/** What a caller adds to an event; the plugin adds the request's address and id. */
type EventFields = Omit<SecurityEventFields, 'ip' | 'reqId'>

declare module 'fastify' {
  interface FastifyInstance {
    /** Logs a security event (API.md "Running") with the request's address and id. */
    securityEvent: (request: FastifyRequest, event: SecurityEventName, fields?: EventFields) => void
    /** Calls `listener` with each event's name once it is logged: plugins/metrics.ts counts them here, in one place. */
    onSecurityEvent: (listener: (event: SecurityEventName) => void) => void
  }
}

async function securityEvents (app: FastifyInstance): Promise<void> {
  // The root logger, not request.log: events stay at the default LOG_LEVEL whatever a route does to its request logs.
  const write = createSecurityEvents(app.log)
  const listeners: Array<(event: SecurityEventName) => void> = []
  app.decorate('securityEvent', (request: FastifyRequest, event: SecurityEventName, fields: EventFields = {}) => {
    write(event, { ...fields, ip: request.ip, reqId: request.id })
    for (const listener of listeners) listener(event)
  })
  app.decorate('onSecurityEvent', (listener: (event: SecurityEventName) => void) => { listeners.push(listener) })
}

export default fp(securityEvents, { name: 'security-events' })
