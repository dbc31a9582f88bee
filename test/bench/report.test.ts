import t from 'tap'
import {
  cpuPerRequest, markdown, median, propagationByKind, propagationVerdict, quantile, roundRatio, summarize, table, verdictLine, verdicts,
  type RowKey, type RowSpec, type Sample
} from '../../bench/report.js'

function spec (key: RowKey, concurrent = false): RowSpec {
  return { key, label: key, connections: 50, mayShed: key.toLowerCase().includes('token'), concurrent }
}

/** A 1 s round that answered `ok` 2xx, with the given p99. */
function sample (ok: number, p99 = 5): Sample {
  return { requests: ok, duration: 1, p50: 1, p99, errors: 0, timeouts: 0, statusCodes: { 200: ok }, serverCpuSeconds: 1, windowSeconds: 1 }
}

function rows (byKey: Partial<Record<RowKey, Sample[]>>, extra: RowKey[] = []): Map<RowKey, ReturnType<typeof summarize>> {
  const keys: RowKey[] = [
    'health', 'admin', 'adminSolo', 'adminInfo', 'adminManyUsers', 'adminMetrics', 'peerBare', 'peerJwt', 'itemsList', 'itemsCreate',
    'stormAdmin',
    ...extra
  ]
  return new Map(keys.map((key) => [key, summarize(spec(key, key === 'stormAdmin'), byKey[key] ?? [sample(1000)])]))
}

// Issue 5.2: a ratio target compares two rows round by round, then takes the median.
t.test('roundRatio divides each round by the same round of the base row, and takes the median', async (t) => {
  const table = rows({ health: [sample(1000), sample(2000), sample(1000)], admin: [sample(900), sample(1000), sample(950)] })
  const { ratio, byRound } = roundRatio(table.get('admin')!, table.get('health')!)
  t.same(byRound, [0.9, 0.5, 0.95])
  t.equal(ratio, 0.9)
})

t.test('a burst in one round moves that round only: the paired median passes where the medians\' ratio would not', async (t) => {
  // The machine ran faster in round 2 and /admin-only slower in round 3: medians 900 vs 1400 (0.64), round ratios 0.9, 0.9, 0.6.
  const table = rows({
    health: [sample(1000), sample(1600), sample(1400)],
    admin: [sample(900), sample(1440), sample(840)],
    itemsList: [sample(600), sample(900), sample(800)],
    stormAdmin: [sample(500), sample(800), sample(500)]
  })
  const [admin, items, storm, clean] = verdicts(table, 150)
  t.ok(admin?.pass, String(admin?.text))
  t.match(admin?.text, /ratio 0\.90, the median of the rounds' 0\.90, 0\.90, 0\.60 \(medians 900 vs 1400 req\/s/)
  t.ok(items?.pass, String(items?.text))
  t.ok(storm?.pass, String(storm?.text))
  t.ok(clean?.pass, String(clean?.text))
})

t.test('each ratio verdict fails below its threshold', async (t) => {
  const table = rows({
    health: [sample(1000), sample(1000), sample(1000)],
    admin: [sample(840), sample(900), sample(800)],
    itemsList: [sample(490), sample(600), sample(400)],
    stormAdmin: [sample(400), sample(300), sample(390)]
  })
  const [admin, items, storm] = verdicts(table, 150)
  t.notOk(admin?.pass, String(admin?.text))
  t.notOk(items?.pass, String(items?.text))
  t.notOk(storm?.pass, String(storm?.text))
})

t.test('the storm verdict also needs p99 <= 50 ms, and the last one no errors and RSS <= 200 MiB', async (t) => {
  const table = rows({ admin: [sample(1000)], stormAdmin: [sample(900, 51)] })
  const [, , storm, clean] = verdicts(table, 201)
  t.notOk(storm?.pass, String(storm?.text))
  t.notOk(clean?.pass, String(clean?.text))
  t.ok(verdicts(table, 199)[3]?.pass)
})

t.test('median of odd, even and empty lists', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.ok(Number.isNaN(median([])))
})

// Issue 5.1: the table reports req/s, p50, p99, errors and the server's CPU; sheds are counted apart from errors.
t.test('summarize, table and markdown report what the rounds measured', async (t) => {
  const token = summarize(spec('token'), [
    { ...sample(10), requests: 40, statusCodes: { 200: 10, 503: 30 }, serverCpuSeconds: 0.5 },
    { ...sample(12), requests: 40, statusCodes: { 200: 12, 503: 27, 500: 1 }, errors: 2, timeouts: 1, serverCpuSeconds: 0.5 }
  ])
  t.equal(token.shed, 57)
  t.equal(token.unexpected, 1)
  t.equal(token.errors, 2)
  t.equal(token.timeouts, 1)
  t.equal(token.okRps, 11)
  t.equal(token.cpuPercent, 50)
  t.equal(token.cpuMicrosPerRequest, 12500)
  const storm = summarize(spec('stormAdmin', true), [sample(900)])
  t.ok(Number.isNaN(storm.cpuMicrosPerRequest), 'a concurrent row has no CPU per request of its own')

  const lines = table([token, storm]).split('\n')
  t.equal(lines[0],
    '| scenario | conns | req/s | 2xx/s | p50 ms | p99 ms | server CPU % | CPU µs/req | errors | timeouts | non-2xx | 503 shed |')
  t.equal(lines[2], '| token | 50 | 40 | 11 | 1.00 | 5.00 | 50 | 12500 | 2 | 1 | 1 | 57 |')
  t.equal(lines[3], '| stormAdmin | 50 | 900 | 900 | 1.00 | 5.00 | 100 | - | 0 | 0 | 0 | - |')

  const byKey = rows({})
  const text = markdown({
    rows: [token, ...byKey.values()],
    verdictList: verdicts(byKey, undefined),
    peakRssMiB: undefined,
    machine: { cpuModel: 'CPU', cores: 2, node: 'v20', os: 'Linux', date: '2026-11-28T00:00:00Z', pinning: 'Unpinned', load: 'load 0' },
    settings: { duration: 1, rounds: 2, warmup: 0 },
    notes: ['a note']
  })
  t.match(text, /^# Load benchmark\n\n2026-11-28T00:00:00Z · CPU · 2 cores · Node v20 · Linux · load 0/)
  t.match(text, /2 interleaved round\(s\) of 1 s per scenario \(after 0 s of warm-up each\)/)
  t.match(text, /the median of those ratios/)
  t.match(text, /Peak server RSS \(VmHWM\): unknown/)
  t.match(text, /FAIL {2}zero errors and timeouts, peak RSS <= 200 MiB: 0 errors\/timeouts\/unexpected non-2xx, peak RSS unknown/)
  t.match(text, /- token: 200: 22, 500: 1, 503: 57; by round: 10\/s p99 5\.00 CPU 50% · 12\/s p99 5\.00 CPU 50%/)
  t.match(text, /\n- a note\n$/)
})

// Issue 13: request logs, the two peers and many users, each a ratio to GET /admin-only in the same round.
t.test('the issue 13 verdicts compare GET /admin-only with its LOG_LEVEL=info, peer and many-users rows', async (t) => {
  const passing = rows({
    admin: [sample(1000), sample(1000), sample(1000)],
    adminSolo: [sample(1000), sample(1000), sample(1000)],
    adminInfo: [sample(850), sample(900), sample(800)],
    peerBare: [sample(1170), sample(1100), sample(1300)],
    peerJwt: [sample(660), sample(600), sample(700)],
    adminManyUsers: [sample(600), sample(700), sample(500)]
  })
  const [logs, bare, jwt, many] = verdicts(passing, 150).slice(4)
  t.ok(logs?.pass, String(logs?.text))
  t.ok(logs?.text.startsWith('GET /admin-only at LOG_LEVEL=info >= 0.85 x at LOG_LEVEL=warn: ' +
    "ratio 0.85, the median of the rounds' 0.85, 0.90, 0.80 (medians 850 vs 1000 req/s"), String(logs?.text))
  t.ok(bare?.pass, String(bare?.text))
  t.match(bare?.text, /^GET \/admin-only \(LOG_LEVEL=warn\) >= 0\.85 x bare Fastify 5 \(no auth\): ratio 0\.85/)
  t.ok(jwt?.pass, String(jwt?.text))
  t.match(jwt?.text, /^GET \/admin-only \(LOG_LEVEL=warn\) >= 1\.5 x Fastify 5 \+ @fastify\/jwt: ratio 1\.52/)
  t.ok(many?.pass, String(many?.text))
  t.match(many?.text, /one token: ratio 0\.60/)

  const failing = rows({
    admin: [sample(1000), sample(1000), sample(1000)],
    adminSolo: [sample(1000), sample(1000), sample(1000)],
    adminInfo: [sample(840), sample(900), sample(800)],
    peerBare: [sample(1180), sample(1100), sample(1300)],
    peerJwt: [sample(670), sample(600), sample(700)],
    adminManyUsers: [sample(590), sample(700), sample(500)]
  })
  t.same(verdicts(failing, 150).slice(4, 8).map((verdict) => verdict.pass), [false, false, false, false])
})

// Issue 14.4: metrics must cost little.
t.test('the metrics verdict compares GET /admin-only with METRICS_PORT set to the same row without', async (t) => {
  const verdict = (metrics: number[]): ReturnType<typeof verdicts>[number] | undefined =>
    verdicts(rows({ adminSolo: [sample(1000), sample(1000), sample(1000)], adminMetrics: metrics.map((ok) => sample(ok)) }), 150).at(-1)
  const passing = verdict([950, 990, 900])
  t.ok(passing?.pass, String(passing?.text))
  const expected = /^GET \/admin-only with METRICS_PORT set >= 0\.95 x without: ratio 0\.95, the median of the rounds' 0\.95, 0\.99, 0\.90/
  t.match(passing?.text, expected)
  t.notOk(verdict([940, 990, 900])?.pass)
})

// The LOG_LEVEL=info and METRICS_PORT processes serve /admin-only only: their base is the process at warn that does the same.
t.test('the LOG_LEVEL=info and METRICS_PORT verdicts divide by the row of the process serving /admin-only only', async (t) => {
  const table = rows({
    admin: [sample(2000), sample(2000), sample(2000)],
    adminSolo: [sample(1000), sample(1000), sample(1000)],
    adminInfo: [sample(850), sample(850), sample(850)],
    adminMetrics: [sample(950), sample(950), sample(950)],
    peerBare: [sample(1000), sample(1000), sample(1000)]
  })
  const all = verdicts(table, 150)
  const logs = all.find((verdict) => verdict.text.startsWith('GET /admin-only at LOG_LEVEL=info'))
  const metrics = all.find((verdict) => verdict.text.startsWith('GET /admin-only with METRICS_PORT set'))
  t.ok(logs?.pass, String(logs?.text))
  t.match(logs?.text, /ratio 0\.85, .*medians 850 vs 1000 req\/s/)
  t.ok(metrics?.pass, String(metrics?.text))
  t.match(metrics?.text, /ratio 0\.95, .*medians 950 vs 1000 req\/s/)
  // The peers are still compared with the process that serves every route.
  t.match(all.find((verdict) => verdict.text.includes('bare Fastify'))?.text, /ratio 2\.00, .*medians 2000 vs 1000 req\/s/)
})

/** A 1 s round of `requests` 2xx that cost the server `micros` µs of CPU each. */
function cpuSample (requests: number, micros: number): Sample {
  return { ...sample(requests), serverCpuSeconds: requests * micros / 1e6 }
}

// Issue 11: PostgreSQL mode's authorized read costs at most 1.15 x SQLite mode's server CPU per request.
t.test('the PostgreSQL verdict compares CPU µs/req with SQLite mode round by round; POST /items is information', async (t) => {
  const measured = (pgAdmin: number[]): ReturnType<typeof verdicts> => verdicts(rows({
    admin: [cpuSample(1000, 20), cpuSample(1000, 40), cpuSample(1000, 20)],
    // Fewer requests than SQLite's, which a req/s verdict would count against it: CPU per request is what counts.
    pgAdmin: pgAdmin.map((micros) => cpuSample(500, micros)),
    itemsCreate: [cpuSample(100, 100), cpuSample(100, 100), cpuSample(100, 100)],
    pgItemsCreate: [cpuSample(50, 250), cpuSample(50, 200), cpuSample(50, 300)]
  }, ['pgAdmin', 'pgItemsCreate']), 150)
  const [read, write] = measured([23, 44, 22]).slice(9)
  t.ok(read?.pass, String(read?.text))
  t.equal(verdictLine(read!), 'PASS  GET /admin-only (PostgreSQL) CPU µs/req <= 1.15 x SQLite mode: ' +
    "CPU ratio 1.10, the median of the rounds' 1.15, 1.10, 1.10 (server CPU per response, the issue's measure, not 2xx/s; " +
    'medians 23 vs 20 µs/req, 500 vs 1000 req/s)')
  t.equal(write?.pass, undefined, 'no target')
  t.equal(verdictLine(write!), 'INFO  POST /items (PostgreSQL) CPU µs/req vs SQLite mode, no target: ' +
    "CPU ratio 2.50, the median of the rounds' 2.50, 2.00, 3.00 " +
    "(medians 250 vs 100 µs/req, 50 vs 100 req/s; PostgreSQL's own CPU not counted)")
  t.notOk(measured([24, 40, 24])[9]?.pass, 'a median of 1.2 fails')
  t.equal(verdicts(rows({}), 150).length, 9, 'without PostgreSQL rows, no PostgreSQL verdicts')
  t.equal(cpuPerRequest(cpuSample(200, 30)), 30)
})

// Issue 11, API.md "Several instances": refused everywhere within 1 s, 100 ms typically.
t.test('the propagation verdict wants every trial within 1 s and the p99 within 100 ms', async (t) => {
  const trials = (times: number[]): Array<{ kind: string, ms: number }> =>
    times.map((ms, i) => ({ kind: ['disable', 'roles', '/revoke'][i % 3] as string, ms }))
  const fast = trials(Array.from({ length: 30 }, (_, i) => i + 1))
  const verdict = propagationVerdict(fast, 3)
  t.ok(verdict.pass)
  t.equal(verdict.text, 'propagation across 3 instances on one PostgreSQL, every trial within 1 s and p99 within 100 ms: ' +
    'p50 15.0 ms, p99 30.0 ms, max 30.0 ms over 30 trials (disable, roles, /revoke)')
  t.equal(propagationByKind(fast), 'disable 13.0 / 28.0 / 28.0, roles 14.0 / 29.0 / 29.0, /revoke 15.0 / 30.0 / 30.0')
  t.notOk(propagationVerdict(trials([...Array.from({ length: 199 }, () => 5), 1001]), 3).pass, 'one trial over 1 s')
  t.notOk(propagationVerdict(trials([5, 5, 5, 101]), 3).pass, 'p99 over 100 ms')
  t.notOk(propagationVerdict([], 3).pass, 'no trial')
})

t.test('quantile takes the nearest rank', async (t) => {
  t.equal(quantile([3, 1, 2, 4], 0.5), 2)
  t.equal(quantile([3, 1, 2, 4], 0.99), 4)
  t.equal(quantile([7], 0), 7)
  t.ok(Number.isNaN(quantile([], 0.5)))
})

t.test('verdicts need every row they compare', async (t) => {
  t.throws(() => verdicts(new Map(), 100), /no measurement for health/)
})
