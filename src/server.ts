import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

const LOG_BUFFER_BYTES = 4096
const LOG_FLUSH_MS = 100

function start (): void {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`Configuration error: ${err.message}\n`)
    process.exit(1)
  }

  // Log lines leave in writes of up to 4 kB, at most 100 ms after they were made: one write(2) per
  // access line was the largest part of what the default LOG_LEVEL=info cost a request (issue 13).
  // Whatever is buffered is written before the process exits, however it exits but SIGKILL.
  const logDestination = pino.destination({ dest: 1, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS, sync: true })
  process.on('exit', () => { logDestination.flushSync() })
  const app = buildApp({ config, logger: { stream: logDestination } })

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
