import t from 'tap'
import { roundRatio, summarize, verdicts, type RowKey, type RowSpec, type Sample } from '../../bench/report.js'

function spec (key: RowKey, concurrent = false): RowSpec {
  return { key, label: key, connections: 50, mayShed: key.toLowerCase().includes('token'), concurrent }
}

/** A 1 s round that answered `ok` 2xx, with the given p99. */
function sample (ok: number, p99 = 5): Sample {
  return { requests: ok, duration: 1, p50: 1, p99, errors: 0, timeouts: 0, statusCodes: { 200: ok }, serverCpuSeconds: 1, windowSeconds: 1 }
}

function rows (byKey: Partial<Record<RowKey, Sample[]>>): Map<RowKey, ReturnType<typeof summarize>> {
  const keys: RowKey[] = ['health', 'admin', 'itemsList', 'stormAdmin']
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
