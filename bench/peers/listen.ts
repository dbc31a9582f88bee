import type { FastifyInstance } from 'fastify'

/** Listens on HOST:PORT as the harness set them; SIGTERM or SIGINT closes the server and exits 0. */
export function listenUntilSignalled (app: FastifyInstance): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => { app.close().then(() => process.exit(0)) })
  }
  app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) }).catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exit(1)
  })
}
