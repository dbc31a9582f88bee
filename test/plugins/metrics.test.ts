import { request as httpRequest, Agent } from 'node:http'
import t from 'tap'
import { getMetricsFromIterator, type PromHistogramData, type PromMetric, type PromMetrics } from 'prom2javascript'
import { register as globalRegistry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, call, JOHNDOE, login, tokenRequest } from '../helper.js'
import { grant, refresh, revoke } from '../oauth-helpers.js'
import { HasherBusyError } from '../../src/passwords.js'

// API.md "Running": METRICS_PORT. Any port will do: the tests listen on 0 through app.metrics.listen.
const METRICS = { METRICS_PORT: '9464' }

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

async function get (port: number, path: string, method = 'GET', agent?: Agent): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Prometheus text read by a real parser (prom2javascript), which throws on a line it cannot parse. Its
 * number pattern lacks NaN, which the format allows (Prometheus reads values with Go's ParseFloat, so
 * prom-client's `Nan` too): the event-loop lag's mean, min and max are NaN until its first 10 ms sample.
 * Those lines are checked for their own form and left out; every other line goes through the parser.
 */
async function parse (text: string): Promise<PromMetrics> {
  const lines = text.split('\n').filter((line) => {
    if (!line.endsWith(' Nan')) return true
    if (!/^nodejs_eventloop_lag_\w+_seconds Nan$/.test(line)) throw new Error(`unexpected NaN: ${line}`)
    return false
  })
  return await getMetricsFromIterator(lines[Symbol.iterator]())
}

/** GET /metrics over HTTP on the metrics port, parsed. */
async function scrape (port: number): Promise<PromMetrics> {
  const res = await get(port, '/metrics')
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  return await parse(res.body)
}

function family (metrics: PromMetrics, name: string): PromMetric {
  const found = metrics[name]
  if (found === undefined) throw new Error(`no metric ${name}`)
  return found
}

/** The value of the sample of `name` whose labels include `labels`; a histogram's count; 0 when there is none. */
function value (metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number {
  const samples = family(metrics, name).data as Array<{ labels: Record<string, string>, value?: number, count?: number }>
  const sample = samples.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))
  return sample?.value ?? sample?.count ?? 0
}

interface MetricsApp { app: FastifyInstance, port: number }

async function appWithMetrics (t: Parameters<typeof buildTestApp>[0], env: Record<string, string> = {}): Promise<MetricsApp> {
  const app = buildTestApp(t, { env: { ...METRICS, ...env } })
  await app.ready()
  return { app, port: await app.metrics.listen(0) }
}

t.test('GET /metrics is served in Prometheus text on the metrics port, and the API port answers 404 for it', async (t) => {
  const { app, port } = await appWithMetrics(t)
  const res = await get(port, '/metrics')
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
  const names = Object.keys(await parse(res.body))
  for (const name of ['http_request_duration_seconds', 'logins_total', 'refresh_token_reuse_total', 'token_revocations_total',
    'password_hashing_queued', 'password_hashing_running',
    'verified_token_cache_hits_total', 'verified_token_cache_misses_total', 'verified_token_cache_size',
    'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) {
    t.ok(names.includes(name), name)
  }

  const api = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(api.statusCode, 404)
  t.equal(api.json().error, 'Not Found')
})

t.test('without METRICS_PORT nothing is measured and GET /metrics is a 404', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  t.notOk(app.hasDecorator('metrics'))
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
})

t.test('the metrics port serves /metrics only, to GET and HEAD', async (t) => {
  const { port } = await appWithMetrics(t)
  const other = await get(port, '/health')
  t.equal(other.status, 404)
  t.equal(other.body, 'Not found: metrics are at /metrics\n')
  const post = await get(port, '/metrics', 'POST')
  t.equal(post.status, 405)
  t.equal(post.headers.allow, 'GET, HEAD')
  const head = await get(port, '/metrics', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal((await get(port, '/metrics?name[]=x')).status, 200, 'a query string is ignored')
})

t.test('requests are counted and timed by method, route pattern and status, never by the URL', async (t) => {
  const { app, port } = await appWithMetrics(t)
  const token = await login(app, JOHNDOE)
  for (let i = 0; i < 3; i++) t.equal((await call(app, token, { method: 'GET', url: '/admin-only' })).statusCode, 200)
  t.equal((await call(app, undefined, { method: 'GET', url: '/admin-only' })).statusCode, 401)
  t.equal((await call(app, token, { method: 'GET', url: '/items/987654' })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/no/such/path-4242' })).statusCode, 404)

  const families = await scrape(port)
  const histogram = family(families, 'http_request_duration_seconds')
  t.equal(histogram.type, 'histogram')
  t.equal(value(families, 'http_request_duration_seconds', { method: 'GET', route: '/admin-only', status_code: '200' }), 3)
  t.equal(value(families, 'http_request_duration_seconds', { method: 'GET', route: '/admin-only', status_code: '401' }), 1)
  t.equal(value(families, 'http_request_duration_seconds', { method: 'POST', route: '/token', status_code: '200' }), 1)
  t.equal(value(families, 'http_request_duration_seconds', { method: 'GET', route: '/items/:id', status_code: '404' }), 1)
  t.equal(value(families, 'http_request_duration_seconds', { method: 'GET', route: 'unmatched', status_code: '404' }), 1)
  const admin = (histogram.data as PromHistogramData[]).find((m) => m.labels.route === '/admin-only' && m.labels.status_code === '200')
  t.equal(admin?.buckets['+Inf'], 3)
  t.ok((admin?.sum ?? 0) > 0, 'the time is measured')
  const text = await app.metrics.text()
  t.notMatch(text, /987654|no\/such/, 'no URL reaches a label')
})

// API.md "Tokens": logins succeed, fail, are throttled (429) or shed (503) when hashing is saturated.
t.test('logins are counted by outcome: succeeded, failed, throttled and shed', async (t) => {
  const { app, port } = await appWithMetrics(t, { LOGIN_MAX_FAILURES: '2' })
  const before = await scrape(port)
  for (const outcome of ['succeeded', 'failed', 'throttled', 'shed']) {
    t.equal(value(before, 'logins_total', { outcome }), 0, `${outcome} starts at 0`)
  }

  await login(app, JOHNDOE)
  await login(app, JOHNDOE)
  t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 400)
  t.equal((await tokenRequest(app, { username: 'nobody', password: 'wrong' })).statusCode, 400)
  t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 400)
  t.equal((await tokenRequest(app, { username: 'bob', password: 'wrong' })).statusCode, 429)
  t.equal((await tokenRequest(app, { username: 'alice', password: 'secretalice' })).statusCode, 400, 'disabled')

  // Shed before the body is read, as routes/oauth.ts does when every place is taken ...
  const saturated = app.passwords.saturated
  app.passwords.saturated = () => true
  t.equal((await tokenRequest(app, JOHNDOE)).statusCode, 503)
  app.passwords.saturated = saturated
  // ... and when a check waited its longest for a slot: counted once, not again by its 503.
  const verify = app.passwords.verify
  app.passwords.verify = async () => { throw new HasherBusyError() }
  t.equal((await tokenRequest(app, JOHNDOE)).statusCode, 503)
  app.passwords.verify = verify
  // A 400 at /token is no shed.
  t.equal((await tokenRequest(app, { grant_type: 'password', username: 'x'.repeat(300), password: 'y' })).statusCode, 400)

  const after = await scrape(port)
  t.equal(family(after, 'logins_total').type, 'counter')
  t.equal(value(after, 'logins_total', { outcome: 'succeeded' }), 2)
  t.equal(value(after, 'logins_total', { outcome: 'failed' }), 4, 'wrong password, unknown user, wrong password, disabled user')
  t.equal(value(after, 'logins_total', { outcome: 'throttled' }), 1)
  t.equal(value(after, 'logins_total', { outcome: 'shed' }), 2)
})

// API.md "Tokens": reuse detection, and RFC 7009 revocation.
t.test('refresh-token reuse and revocations are counted', async (t) => {
  const { app, port } = await appWithMetrics(t)
  const first = await grant(app, JOHNDOE)
  t.equal((await refresh(app, first.refresh_token)).statusCode, 200)
  t.equal((await refresh(app, first.refresh_token)).statusCode, 400, 'reused')
  const second = await grant(app, JOHNDOE)
  t.equal((await revoke(app, { token: second.refresh_token })).statusCode, 200)
  const third = await grant(app, JOHNDOE)
  t.equal((await revoke(app, { token: third.access_token })).statusCode, 200)
  t.equal((await revoke(app, { token: 'unknown' })).statusCode, 200, 'nothing revoked')

  const families = await scrape(port)
  t.equal(value(families, 'refresh_token_reuse_total'), 1)
  t.equal(value(families, 'token_revocations_total'), 2)
})

t.test('the verified-token cache\'s hits, misses and size are read when scraped', async (t) => {
  const { app, port } = await appWithMetrics(t)
  const token = await login(app, JOHNDOE)
  for (let i = 0; i < 3; i++) t.equal((await call(app, token, { method: 'GET', url: '/admin-only' })).statusCode, 200)
  // Another spelling of the scheme is parsed, then found by the token itself: a hit too.
  t.equal((await app.inject({ method: 'GET', url: '/admin-only', headers: { authorization: `bearer ${token}` } })).statusCode, 200)
  t.equal((await call(app, undefined, { method: 'GET', url: '/admin-only' })).statusCode, 401)

  const families = await scrape(port)
  t.equal(family(families, 'verified_token_cache_hits_total').type, 'counter')
  t.equal(value(families, 'verified_token_cache_misses_total'), 1, 'the first use verified in full')
  t.equal(value(families, 'verified_token_cache_hits_total'), 3)
  t.equal(value(families, 'verified_token_cache_size'), 1)
  t.equal(value(await scrape(port), 'verified_token_cache_hits_total'), 3, 'a scrape does not add')
})

t.test('the hashing queue is read when scraped', async (t) => {
  const { app, port } = await appWithMetrics(t)
  const idle = await scrape(port)
  t.equal(value(idle, 'password_hashing_queued'), 0)
  t.equal(value(idle, 'password_hashing_running'), 0)

  // More hashes than slots: the excess waits, and the scrape sees it before any finishes.
  const hashes = Array.from({ length: 12 }, async () => await app.passwords.hash('a password'))
  const busy = await parse(await app.metrics.text())
  const running = value(busy, 'password_hashing_running')
  t.ok(running >= 1, 'a slot runs')
  t.equal(running + value(busy, 'password_hashing_queued'), 12)
  await Promise.all(hashes)
})

t.test('each app counts in its own registry, never in prom-client\'s global one', async (t) => {
  const one = await appWithMetrics(t)
  const two = await appWithMetrics(t)
  await login(one.app, JOHNDOE)
  t.equal(value(await scrape(one.port), 'logins_total', { outcome: 'succeeded' }), 1)
  t.equal(value(await scrape(two.port), 'logins_total', { outcome: 'succeeded' }), 0)
  t.same(globalRegistry.getMetricsAsArray(), [])
})

t.test('a scrape that fails answers 500 without details', async (t) => {
  const { app, port } = await appWithMetrics(t)
  app.passwords.load = () => { throw new Error('secret detail') }
  const res = await get(port, '/metrics')
  t.equal(res.status, 500)
  t.equal(res.body, 'Metrics could not be collected\n')
})

t.test('closing the app closes the metrics port, also with a scraper\'s connection kept open', async (t) => {
  const app = buildTestApp(t, { env: METRICS })
  await app.ready()
  const port = await app.metrics.listen(0)
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  t.equal((await get(port, '/metrics', 'GET', agent)).status, 200)
  await app.close()
  await t.rejects(get(port, '/metrics'), { code: 'ECONNREFUSED' })
})

t.test('closing an app whose metrics never listened is fine', async (t) => {
  const app = buildTestApp(t, { env: METRICS })
  await app.ready()
  await app.close()
  t.pass()
})

t.test('a metrics port already taken rejects listen', async (t) => {
  const { port } = await appWithMetrics(t)
  const other = buildTestApp(t, { env: METRICS })
  await other.ready()
  await t.rejects(other.metrics.listen(port), { code: 'EADDRINUSE' })
})
