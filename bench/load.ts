// One autocannon run, in its own process so the load generator never shares an event loop
// (or, where taskset exists, a core) with the server. Reads a LoadJob as JSON from argv[2]
// and prints one LoadSummary as JSON on stdout.
import { readFileSync } from 'node:fs'
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
  /**
   * A JSON file holding a list of access tokens: each request carries the next one (round-robin over
   * every connection) as `Authorization: Bearer <token>`, in place of the header in `headers`.
   */
  bearerTokensFile?: string
  /**
   * Each connection sends its requests from this many client addresses in turn, named in
   * X-Forwarded-For (the server trusts the harness as its proxy): a storm from many clients, not one.
   */
  clientAddresses?: number
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

/** Requests that differ only in X-Forwarded-For, from documentation addresses (RFC 5737), each built once. */
function fromAddresses (headers: Record<string, string>, count: number): Array<{ headers: Record<string, string> }> {
  return Array.from({ length: count }, (_, i) => ({
    headers: { ...headers, 'x-forwarded-for': `198.51.${100 + Math.floor(i / 250)}.${1 + (i % 250)}` }
  }))
}

async function main (): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as LoadJob
  const tokens = job.bearerTokensFile === undefined ? undefined : JSON.parse(readFileSync(job.bearerTokensFile, 'utf8')) as string[]
  if (job.delayMs > 0) await sleep(job.delayMs)
  let next = 0
  const result = await autocannon({
    url: job.url,
    method: job.method,
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.duration,
    timeout: job.timeout,
    // One counter for all connections, so the tokens go round in turn; autocannon rebuilds each request's bytes.
    ...(job.clientAddresses === undefined ? {} : { requests: fromAddresses(job.headers, job.clientAddresses) }),
    ...(tokens === undefined
      ? {}
      : {
          requests: [{
            setupRequest: (request) => {
              request.headers = { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length] as string}` }
              return request
            }
          }]
        })
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
