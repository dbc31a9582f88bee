import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { createBufferedDestination } from './log-destination.js'

function start (): void {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`Configuration error: ${err.message}\n`)
    process.exit(1)
  }

  // Log lines leave in writes of up to 4 kB, at most 100 ms after they were made, and what is left when the process exits.
  const app = buildApp({ config, logger: { stream: createBufferedDestination() } })

  // API.md "Running": finish what was received, close the database, exit 0 within 10 s.
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  // API.md "Running": GET /metrics on METRICS_PORT only; a port that cannot be had stops the start, as the API's would.
  const listen = async (): Promise<void> => {
    await app.listen({ host: config.host, port: config.port })
    if (config.metricsPort !== undefined) await app.metrics.listen()
  }
  listen().catch((err: unknown) => {
    app.log.error({ err }, 'could not start')
    process.exit(1)
  })
}

start()
