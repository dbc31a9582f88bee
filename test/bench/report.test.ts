import t from 'tap'
import {
  cpuPerRequest, markdown, median, okPerCpuSecond, propagationByKind, propagationVerdict, quantile, roundRatio, sideBySideRatio, summarize,
  table, verdictLine, verdicts, type RowKey, type RowSpec, type Sample, type SideBySide
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
    'health', 'admin', 'adminSolo', 'adminInfo', 'adminManyUsers', 'adminMetrics', 'peerBare', 'peerBareHelmet', 'peerJwt', 'itemsList',
    'itemsCreate',
    'stormAdmin',
    ...extra
  ]
  return new Map(keys.map((key) => [key, summarize(spec(key, key === 'stormAdmin'), byKey[key] ?? [sample(1000)])]))
}

/** The pairs bench/scenarios.ts measures side by side, by the row compared: row and base. */
const PAIRS = {
  adminInfo: ['adminInfo', 'adminSolo'],
  adminMetrics: ['adminMetrics', 'adminSolo'],
  peerBare: ['admin', 'peerBare'],
  peerJwt: ['admin', 'peerJwt'],
  helmetCost: ['peerBareHelmet', 'peerBare'],
  besideHelmet: ['admin', 'peerBareHelmet'],
  pgAdmin: ['pgAdmin', 'admin']
} as const satisfies Record<string, readonly [RowKey, RowKey]>

/** Every pair, each round's row and base samples as given, else one round of 1000 and 1000. */
function pairs (byPair: Partial<Record<keyof typeof PAIRS, Array<[Sample, Sample]>>> = {}): SideBySide[] {
  return Object.entries(PAIRS).map(([key, [row, base]]) => ({
    row,
    base,
    rounds: (byPair[key as keyof typeof PAIRS] ?? [[sample(1000), sample(1000)]])
      .map(([rowSample, baseSample]) => ({ row: rowSample, base: baseSample }))
  }))
}

/** Rounds side by side: `row[i]` 2xx beside `base[i]`, each in 1 s of 1 CPU-second. */
function rounds (row: number[], base: number[]): Array<[Sample, Sample]> {
  return row.map((ok, i) => [sample(ok), sample(base[i] as number)])
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
  const [admin, items, storm, clean] = verdicts(table, 150, pairs())
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
  const [admin, items, storm] = verdicts(table, 150, pairs())
  t.notOk(admin?.pass, String(admin?.text))
  t.notOk(items?.pass, String(items?.text))
  t.notOk(storm?.pass, String(storm?.text))
})

t.test('the storm verdict also needs p99 <= 50 ms, and the last one no errors and RSS <= 200 MiB', async (t) => {
  const table = rows({ admin: [sample(1000)], stormAdmin: [sample(900, 51)] })
  const [, , storm, clean] = verdicts(table, 201, pairs())
  t.notOk(storm?.pass, String(storm?.text))
  t.notOk(clean?.pass, String(clean?.text))
  t.ok(verdicts(table, 199, pairs())[3]?.pass)
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
    pairs: pairs({ adminInfo: rounds([800, 850], [1000, 1000]) }),
    verdictList: verdicts(byKey, undefined, pairs()),
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
  t.match(text, /- adminInfo \| beside adminSolo: 800\/s 1250 µs \| 1000\/s 1000 µs · 850\/s 1176 µs \| 1000\/s 1000 µs\n/)
  t.match(text, /- admin \| beside peerJwt: 1000\/s 1000 µs \| 1000\/s 1000 µs\n/)
  t.match(text, /\n- a note\n$/)
})

// Issue 13: request logs and the two peers, each side by side with the process it is compared with; many users, a ratio to
// GET /admin-only in the same round of the same process.
t.test('the issue 13 verdicts compare GET /admin-only with its LOG_LEVEL=info, peer and many-users rows', async (t) => {
  const many = (adminManyUsers: number[]): Map<RowKey, ReturnType<typeof summarize>> => rows({
    admin: [sample(1000), sample(1000), sample(1000)],
    adminManyUsers: adminManyUsers.map((ok) => sample(ok))
  })
  const passing = pairs({
    adminInfo: rounds([850, 900, 800], [1000, 1000, 1000]),
    peerBare: rounds([1000, 1000, 1000], [1170, 1100, 1300]),
    helmetCost: rounds([830, 800, 860], [1000, 1000, 1000]),
    besideHelmet: rounds([1000, 1000, 1000], [1100, 1050, 1150]),
    peerJwt: rounds([1000, 1000, 1000], [660, 600, 700])
  })
  const [logs, bare, helmetCost, besideHelmet, jwt, manyUsers] = verdicts(many([600, 700, 500]), 150, passing).slice(4)
  t.ok(logs?.pass, String(logs?.text))
  t.ok(logs?.text.startsWith('GET /admin-only at LOG_LEVEL=info >= 0.85 x at LOG_LEVEL=warn: ' +
    "ratio 0.85, the median of the rounds' 0.85, 0.90, 0.80 (2xx per CPU-second; side by side, server CPU 1176 vs 1000 µs/req; " +
    'alone, medians 1000 vs 1000 req/s'), String(logs?.text))
  t.ok(bare?.pass, String(bare?.text))
  t.match(bare?.text, /^GET \/admin-only \(LOG_LEVEL=warn\) >= 0\.85 x bare Fastify 5 \(no auth\): ratio 0\.85/)
  // Figures without a target (INFO): what helmet's headers cost bare Fastify, and where we stand against that.
  t.equal(helmetCost?.pass, undefined)
  t.match(helmetCost?.text,
    /^bare Fastify 5 \+ helmet's headers vs bare Fastify 5, no target: ratio 0\.83, the median of the rounds' 0\.83, 0\.80, 0\.86/)
  t.equal(besideHelmet?.pass, undefined)
  t.match(besideHelmet?.text, /^GET \/admin-only \(LOG_LEVEL=warn\) vs bare Fastify 5 \+ helmet's headers, no target: ratio 0\.91/)
  t.ok(jwt?.pass, String(jwt?.text))
  t.match(jwt?.text, /^GET \/admin-only \(LOG_LEVEL=warn\) >= 1\.5 x Fastify 5 \+ @fastify\/jwt: ratio 1\.52/)
  t.ok(manyUsers?.pass, String(manyUsers?.text))
  t.match(manyUsers?.text, /one token: ratio 0\.60/)

  const failing = pairs({
    adminInfo: rounds([840, 900, 800], [1000, 1000, 1000]),
    peerBare: rounds([1000, 1000, 1000], [1180, 1100, 1300]),
    peerJwt: rounds([1000, 1000, 1000], [670, 600, 700])
  })
  const [logs2, bare2, , , jwt2, manyUsers2] = verdicts(many([590, 700, 500]), 150, failing).slice(4)
  t.same([logs2, bare2, jwt2, manyUsers2].map((verdict) => verdict?.pass), [false, false, false, false])
})

// Side by side, the scheduler gives each process its share of the core: what counts is 2xx per CPU-second, not 2xx/s.
t.test('a side-by-side ratio divides 2xx per CPU-second of the row by its base\'s, round by round', async (t) => {
  const slow = { ...sample(400), serverCpuSeconds: 0.4 }
  const fast = { ...sample(600), serverCpuSeconds: 0.5 }
  t.equal(okPerCpuSecond(slow), 1000)
  t.equal(okPerCpuSecond(fast), 1200)
  const pair: SideBySide = {
    row: 'adminInfo', base: 'adminSolo', rounds: [{ row: slow, base: fast }, { row: fast, base: fast }, { row: slow, base: slow }]
  }
  t.same(sideBySideRatio(pair).byRound.map((ratio) => ratio.toFixed(3)), ['0.833', '1.000', '1.000'])
  t.equal(sideBySideRatio(pair).ratio, 1)
  t.same(sideBySideRatio(pair, cpuPerRequest).byRound.map((ratio) => ratio.toFixed(3)), ['1.200', '1.000', '1.000'])
  t.throws(() => verdicts(rows({}), 150, pairs().slice(1)), /no measurement of adminInfo beside adminSolo/)
})

// Issue 14.4: metrics must cost little. Its base, like LOG_LEVEL=info's, is the process at warn that serves /admin-only only.
t.test('the metrics verdict compares GET /admin-only with METRICS_PORT set to the same row without, side by side', async (t) => {
  const verdict = (metrics: number[]): ReturnType<typeof verdicts>[number] | undefined =>
    verdicts(rows({}), 150, pairs({ adminMetrics: rounds(metrics, [1000, 1000, 1000]) })).at(-1)
  const passing = verdict([950, 990, 900])
  t.ok(passing?.pass, String(passing?.text))
  const expected = /^GET \/admin-only with METRICS_PORT set >= 0\.95 x without: ratio 0\.95, the median of the rounds' 0\.95, 0\.99, 0\.90/
  t.match(passing?.text, expected)
  t.notOk(verdict([940, 990, 900])?.pass)
})

/** A 1 s round of `requests` 2xx that cost the server `micros` µs of CPU each. */
function cpuSample (requests: number, micros: number): Sample {
  return { ...sample(requests), serverCpuSeconds: requests * micros / 1e6 }
}

// Issue 11: PostgreSQL mode's authorized read costs at most 1.15 x SQLite mode's server CPU per request.
t.test('the PostgreSQL verdict compares CPU µs/req with SQLite mode side by side; POST /items is information', async (t) => {
  const measured = (pgAdmin: number[]): ReturnType<typeof verdicts> => verdicts(rows({
    admin: [cpuSample(1000, 20), cpuSample(1000, 40), cpuSample(1000, 20)],
    pgAdmin: [cpuSample(500, 22), cpuSample(500, 22), cpuSample(500, 22)],
    itemsCreate: [cpuSample(100, 100), cpuSample(100, 100), cpuSample(100, 100)],
    pgItemsCreate: [cpuSample(50, 250), cpuSample(50, 200), cpuSample(50, 300)]
  }, ['pgAdmin', 'pgItemsCreate']), 150, pairs({
    // Fewer requests than SQLite's, which a req/s verdict would count against it: CPU per request is what counts.
    pgAdmin: pgAdmin.map((micros) => [cpuSample(500, micros), cpuSample(1000, 20)])
  }))
  const [read, write] = measured([23, 22, 24]).slice(11)
  t.ok(read?.pass, String(read?.text))
  t.equal(verdictLine(read!), 'PASS  GET /admin-only (PostgreSQL) CPU µs/req <= 1.15 x SQLite mode: ' +
    "CPU ratio 1.15, the median of the rounds' 1.15, 1.10, 1.20 (server CPU per response, the issue's measure, not 2xx/s; " +
    'side by side, server CPU 23 vs 20 µs/req; alone, medians 500 vs 1000 req/s; server CPU 22 vs 20 µs/req)')
  t.equal(write?.pass, undefined, 'no target')
  t.equal(verdictLine(write!), 'INFO  POST /items (PostgreSQL) CPU µs/req vs SQLite mode, no target: ' +
    "CPU ratio 2.50, the median of the rounds' 2.50, 2.00, 3.00 " +
    "(medians 250 vs 100 µs/req, 50 vs 100 req/s; PostgreSQL's own CPU not counted)")
  t.notOk(measured([24, 24, 22])[11]?.pass, 'a median of 1.2 fails')
  t.equal(verdicts(rows({}), 150, pairs()).length, 11, 'without PostgreSQL rows, no PostgreSQL verdicts')
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
  t.throws(() => verdicts(new Map(), 100, pairs()), /no measurement for health/)
})
