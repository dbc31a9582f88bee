import t from 'tap'
import { Histogram, Registry } from 'prom-client'
import { createMetrics, LATENCY_BUCKETS, RequestHistogram } from '../../src/metrics.js'

const HELP = 'request time'

t.test('RequestHistogram writes the same text as prom-client\'s own Histogram for the same requests', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const fast = new RequestHistogram('requests_seconds', HELP, LATENCY_BUCKETS, [ours])
  const reference = new Histogram({
    name: 'requests_seconds',
    help: HELP,
    labelNames: ['method', 'route', 'status_code'],
    buckets: [...LATENCY_BUCKETS],
    registers: [theirs]
  })
  // On a bound (buckets are inclusive), between bounds, past the last one, and several series.
  const requests: Array<[string, string, number, number]> = [
    ['GET', '/items/:id', 200, 0.0005], ['GET', '/items/:id', 200, 0.0007], ['GET', '/items/:id', 404, 0.003],
    ['POST', '/token', 200, 0.04], ['POST', '/token', 200, 7], ['GET', '/items/:id', 200, 5], ['POST', '/items/:id', 200, 0]
  ]
  for (const [method, route, status, seconds] of requests) {
    fast.record(method, route, status, seconds)
    reference.observe({ method, route, status_code: status }, seconds)
  }
  const sortLines = (text: string): string[] => text.split('\n').sort()
  t.same(sortLines(await ours.metrics()), sortLines(await theirs.metrics()))
  t.same((await fast.get()).values.length, (await reference.get()).values.length)
})

t.test('a histogram with no request yet writes its HELP and TYPE only', async (t) => {
  const registry = new Registry()
  const histogram = new RequestHistogram('requests_seconds', HELP, [0.1], [registry])
  t.equal(await registry.metrics(), `# HELP requests_seconds ${HELP}\n# TYPE requests_seconds histogram\n`)
  t.same((await histogram.get()).values, [])
})

t.test('security events other than logins, reuse and revocations are not counted', async (t) => {
  const metrics = createMetrics({ hashing: () => ({ running: 0, queued: 0 }), verifiedTokens: () => ({ hits: 0, misses: 0, size: 0 }) })
  metrics.securityEvent('user_created')
  metrics.securityEvent('password_changed')
  metrics.securityEvent('token_revoked')
  const text = await metrics.text()
  t.match(text, /^token_revocations_total 1$/m)
  t.match(text, /^refresh_token_reuse_total 0$/m)
  for (const outcome of ['succeeded', 'failed', 'throttled', 'shed']) {
    t.match(text, new RegExp(`^logins_total\\{outcome="${outcome}"\\} 0$`, 'm'))
  }
  t.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8')
})
