// One autocannon run, in its own process so the load generator never shares an event loop
// (or, where taskset exists, a core) with the server. Reads a LoadJob as JSON from argv[2]
// and prints one LoadSummary as JSON on stdout.
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'

export interface LoadJob {
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  connections: number
  /** Seconds of load. */
  duration: number
  /** Wait this long before starting, so a concurrent run (the login storm) is already at full load. */
  delayMs: number
  /** Seconds before autocannon counts a request as timed out. */
  timeout: number
}

export interface LoadSummary {
  /** Responses received, whatever their status. */
  requests: number
  /** Seconds the run actually took. */
  duration: number
  p50: number
  p99: number
  /** Connection errors, timeouts excluded. */
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
}

async function main (): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as LoadJob
  if (job.delayMs > 0) await sleep(job.delayMs)
  const result = await autocannon({
    url: job.url,
    method: job.method,
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.duration,
    timeout: job.timeout
  })
  const statusCodes: Record<string, number> = {}
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0
  const summary: LoadSummary = {
    requests: result.requests.total,
    duration: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // autocannon counts timeouts among its errors.
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    statusCodes
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`load generator failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
