import {
  collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValueWithName
} from 'prom-client'
import type { SecurityEventName } from './security-events.js'

/** How a login ended: `shed` is a 503 because too many password checks were waiting (API.md "Tokens"). */
export type LoginOutcome = 'succeeded' | 'failed' | 'throttled' | 'shed'

const LOGIN_OUTCOMES: readonly LoginOutcome[] = ['succeeded', 'failed', 'throttled', 'shed']

const LOGIN_EVENTS: Partial<Record<SecurityEventName, LoginOutcome>> = {
  login_succeeded: 'succeeded', login_failed: 'failed', login_throttled: 'throttled'
}

/**
 * Seconds. A protected GET answers in well under a millisecond here and a login takes a hash's
 * 30 ms or more, so the buckets span both; past 5 s a client has long given up.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

type RequestLabel = 'method' | 'route' | 'status_code'

/** One series: how many requests fell in each bucket (not cumulative; the last is +Inf), and their total time. */
interface Series { readonly labels: Record<RequestLabel, string>, readonly counts: number[], sum: number, count: number }

/**
 * The request histogram. prom-client's own observe() builds and hashes a label object per call:
 * 1.5 µs here under load (0.8 µs idle), against 0.1 µs for the lookups and increments below, on a
 * path that costs about 40 µs in all. So requests are counted in plain numbers, and this subclass
 * hands prom-client the same series, in the shape its Histogram.get() documents, when it scrapes.
 */
export class RequestHistogram extends Histogram<RequestLabel> {
  // route → method → status → series: three Map lookups, no key built per request.
  readonly #series = new Map<string, Map<string, Map<number, Series>>>()
  readonly #bounds: readonly number[]
  readonly #name: string
  readonly #help: string

  constructor (name: string, help: string, bounds: readonly number[], registers: Registry[]) {
    super({ name, help, labelNames: ['method', 'route', 'status_code'], buckets: [...bounds], registers })
    this.#name = name
    this.#help = help
    this.#bounds = bounds
  }

  record (method: string, route: string, statusCode: number, seconds: number): void {
    let byMethod = this.#series.get(route)
    if (byMethod === undefined) this.#series.set(route, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    let series = byStatus.get(statusCode)
    if (series === undefined) {
      series = {
        labels: { method, route, status_code: String(statusCode) },
        counts: new Array<number>(this.#bounds.length + 1).fill(0),
        sum: 0,
        count: 0
      }
      byStatus.set(statusCode, series)
    }
    let bucket = 0
    // Prometheus buckets are upper bounds, inclusive ("le").
    while (bucket < this.#bounds.length && seconds > (this.#bounds[bucket] as number)) bucket++
    series.counts[bucket] = (series.counts[bucket] as number) + 1
    series.sum += seconds
    series.count++
  }

  override async get (): Promise<MetricObjectWithValues<MetricValueWithName<RequestLabel | 'le'>>> {
    const values: Array<MetricValueWithName<RequestLabel | 'le'>> = []
    for (const byMethod of this.#series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const { labels, counts, sum, count } of byStatus.values()) {
          let cumulative = 0
          this.#bounds.forEach((le, i) => {
            cumulative += counts[i] as number
            values.push({ metricName: `${this.#name}_bucket`, labels: { le, ...labels }, value: cumulative })
          })
          values.push({ metricName: `${this.#name}_bucket`, labels: { le: '+Inf', ...labels }, value: count })
          values.push({ metricName: `${this.#name}_sum`, labels, value: sum })
          values.push({ metricName: `${this.#name}_count`, labels, value: count })
        }
      }
    }
    // What prom-client's Histogram returns at run time: its typings say `type` is a numeric enum and
    // ask for a `collect`, but the registry writes `type` as is and never reads `collect` from here.
    const data = { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' }
    return data as unknown as MetricObjectWithValues<MetricValueWithName<RequestLabel | 'le'>>
  }

  /** What prom-client's registry reads for the text format; the same as get(). */
  async getForPromString (): Promise<MetricObjectWithValues<MetricValueWithName<RequestLabel | 'le'>>> {
    return await this.get()
  }
}

/** What is read when Prometheus scrapes, never on a request's path. */
export interface MetricSources {
  /** The password hasher's slots in use and checks waiting for one (src/passwords.ts). */
  hashing: () => { running: number, queued: number }
  /** The verified-token cache (src/verified-tokens.ts): its lookups' hits and misses, and the tokens it keeps. */
  verifiedTokens: () => { hits: number, misses: number, size: number }
}

export interface Metrics {
  /** One answered request: `route` is the route's pattern (`/items/:id`), never the URL. */
  request: (method: string, route: string, statusCode: number, seconds: number) => void
  login: (outcome: LoginOutcome) => void
  /** Counts the security events that are metrics too: logins, refresh-token reuse, revocations. */
  securityEvent: (event: SecurityEventName) => void
  /** The Prometheus text exposition format (version 0.0.4) and its media type. */
  text: () => Promise<string>
  readonly contentType: string
}

/**
 * One registry per call, never prom-client's global one: two apps in one process (the tests) keep
 * their own counts. The default metrics (event-loop lag, heap, RSS, CPU, handles) are prom-client's.
 */
export function createMetrics (sources: MetricSources): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  // The histogram's _count is the request count, so one observation per request gives both.
  const requests = new RequestHistogram('http_request_duration_seconds',
    'Time from request received to response sent, by method, route pattern and status code; _count is the request count',
    LATENCY_BUCKETS, registers)
  const logins = new Counter({
    name: 'logins_total',
    help: 'Logins by outcome: succeeded; failed (a wrong password, an unknown or disabled user, ' +
      'a wrong current password at PUT /users/me/password); throttled (429); shed (503 at POST /token, too many password checks waiting)',
    labelNames: ['outcome'] as const,
    registers
  })
  // Every outcome from the start: a series that appears only on its first event hides the rate before it.
  for (const outcome of LOGIN_OUTCOMES) logins.inc({ outcome }, 0)
  const reuse = new Counter({
    name: 'refresh_token_reuse_total',
    help: 'Used refresh tokens presented again; each revoked its login (API.md "Tokens")',
    registers
  })
  const revocations = new Counter({
    name: 'token_revocations_total',
    help: 'Logins revoked through POST /revoke (RFC 7009)',
    registers
  })
  const gauge = (name: string, help: string, read: () => number): void => {
    registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(read()) } }))
  }
  gauge('password_hashing_queued', 'Password checks waiting for a hashing slot', () => sources.hashing().queued)
  gauge('password_hashing_running', 'Hashing slots in use', () => sources.hashing().running)
  gauge('verified_token_cache_size', 'Access tokens kept verified', () => sources.verifiedTokens().size)
  // Counters whose numbers are kept elsewhere, as plain fields on the request's path: set when scraped.
  const counter = (name: string, help: string, read: () => number): void => {
    registry.registerMetric(new Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read()) } }))
  }
  counter('verified_token_cache_hits_total', 'Access tokens found verified in the cache (only their time checked again)',
    () => sources.verifiedTokens().hits)
  counter('verified_token_cache_misses_total', 'Access tokens not in the cache, so verified in full (signature and claims)',
    () => sources.verifiedTokens().misses)

  return {
    request (method, route, statusCode, seconds) {
      requests.record(method, route, statusCode, seconds)
    },
    login (outcome) { logins.inc({ outcome }) },
    securityEvent (event) {
      const outcome = LOGIN_EVENTS[event]
      if (outcome !== undefined) logins.inc({ outcome })
      else if (event === 'refresh_reused') reuse.inc()
      else if (event === 'token_revoked') revocations.inc()
    },
    text: async () => await registry.metrics(),
    contentType: registry.contentType
  }
}
