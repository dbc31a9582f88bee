import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * Once closing starts, every answer still being made says `Connection: close`. Otherwise Node keeps
 * the connection of a request that was in flight alive after its answer, `close()` waits for that
 * client to hang up, and a graceful shutdown takes until the 10 s timeout (API.md "Running").
 */
async function shutdown (app: FastifyInstance): Promise<void> {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}

export default fp(shutdown, { name: 'shutdown' })
