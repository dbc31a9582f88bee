// Turns the per-round load summaries into the table and the verdicts of issue 5. Pure functions.
import type { LoadSummary } from './load.js'

export type RowKey = 'health' | 'admin' | 'adminSolo' | 'adminInfo' | 'adminManyUsers' | 'adminMetrics' |
  'peerBare' | 'peerBareHelmet' | 'peerJwt' | 'itemsList' | 'itemsCreate' | 'token' | 'stormAdmin' | 'stormToken' |
  'pgAdmin' | 'pgItemsCreate'

export interface RowSpec {
  key: RowKey
  label: string
  connections: number
  /** Only /token may shed load with 503 + Retry-After (API.md "Tokens"); anywhere else a 503 is an error. */
  mayShed: boolean
  /** Measured while another row loads the server too, so the server's CPU is not this row's alone. */
  concurrent: boolean
}

/** One round's load summary, with what the harness saw of the server meanwhile. */
export interface Sample extends LoadSummary {
  /** CPU seconds (user + system, every thread) the server spent during the measurement. */
  serverCpuSeconds?: number
  /** Seconds that CPU time was spent over: the longest of the jobs measured together. */
  windowSeconds?: number
  /** The server's VmHWM right after the measurement. */
  peakRssMiB?: number
}

/**
 * One row measured beside another once a round: their two server processes pinned to the same CPU
 * and loaded at the same time, so whatever else the machine runs slows both alike. Rows measured one
 * after the other moved by up to 20% between back-to-back runs on a shared machine; two servers at
 * once on one core gave a build against itself 0.96-1.02.
 */
export interface SideBySide {
  row: RowKey
  base: RowKey
  rounds: Array<{ row: Sample, base: Sample }>
}

export interface Row {
  spec: RowSpec
  rounds: number
  /** Medians over the rounds. */
  rps: number
  okRps: number
  p50: number
  p99: number
  /** Server CPU over the measurement, in % of one core: near 100 means the server, not the load generator, was the limit. */
  cpuPercent: number
  /** Server CPU time per response: the hot path's cost, steadier than req/s on a busy machine. NaN for concurrent rows. */
  cpuMicrosPerRequest: number
  /** Totals over the rounds. */
  errors: number
  timeouts: number
  /** Non-2xx answers other than the 503s a /token row may shed. */
  unexpected: number
  shed: number
  statusCodes: Record<string, number>
  /** Each round in order, to show drift and noise. */
  perRound: Sample[]
}

export interface Machine {
  cpuModel: string
  cores: number
  node: string
  os: string
  date: string
  pinning: string
  /** Load average and CPU pressure before and after the run: other work on the machine skews every figure. */
  load: string
}

export interface Settings {
  duration: number
  rounds: number
  warmup: number
}

export interface Verdict {
  /** Undefined for a figure reported without a target: its line says INFO. */
  pass?: boolean
  text: string
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** 2xx answers per second. */
export function okRps (sample: LoadSummary): number {
  return Object.entries(sample.statusCodes).reduce((sum, [code, count]) => code.startsWith('2') ? sum + count : sum, 0) / sample.duration
}

/**
 * 2xx answers per CPU-second of the server: the req/s it would serve on a core of its own. Side by
 * side, each server gets the share of the core the scheduler gives it, so req/s alone would compare shares.
 */
export function okPerCpuSecond (sample: Sample): number {
  return okRps(sample) * sample.duration / (sample.serverCpuSeconds ?? Number.NaN)
}

/** The server's CPU time per response, in µs. */
export function cpuPerRequest (sample: Sample): number {
  return 1e6 * (sample.serverCpuSeconds ?? Number.NaN) / sample.requests
}

/**
 * The median over the rounds of one row's 2xx/s (or another `measure`) divided by another's in the
 * same round. A round measures its scenarios back to back, so both sides of each ratio ran under the
 * same load from the rest of the machine; a burst of other work moves one round's ratio, not the
 * medians of two rows.
 */
export function roundRatio (row: Row, base: Row, measure: (sample: Sample) => number = okRps): { ratio: number, byRound: number[] } {
  const byRound = row.perRound.map((sample, i) => {
    const baseSample = base.perRound[i]
    return baseSample === undefined ? Number.NaN : measure(sample) / measure(baseSample)
  })
  return { ratio: median(byRound), byRound }
}

/** The median over the rounds of `measure` of the row divided by the same of the base it was measured beside. */
export function sideBySideRatio (pair: SideBySide, measure: (sample: Sample) => number = okPerCpuSecond):
{ ratio: number, byRound: number[] } {
  const byRound = pair.rounds.map(({ row, base }) => measure(row) / measure(base))
  return { ratio: median(byRound), byRound }
}

function cpuPercent (sample: Sample): number {
  return 100 * (sample.serverCpuSeconds ?? Number.NaN) / (sample.windowSeconds ?? sample.duration)
}

export function summarize (spec: RowSpec, samples: readonly Sample[]): Row {
  const statusCodes: Record<string, number> = {}
  let errors = 0
  let timeouts = 0
  let unexpected = 0
  let shed = 0
  for (const sample of samples) {
    errors += sample.errors
    timeouts += sample.timeouts
    for (const [code, count] of Object.entries(sample.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count
      if (code.startsWith('2')) continue
      if (spec.mayShed && code === '503') shed += count
      else unexpected += count
    }
  }
  return {
    spec,
    rounds: samples.length,
    rps: median(samples.map((sample) => sample.requests / sample.duration)),
    okRps: median(samples.map(okRps)),
    p50: median(samples.map((sample) => sample.p50)),
    p99: median(samples.map((sample) => sample.p99)),
    cpuPercent: median(samples.map(cpuPercent)),
    cpuMicrosPerRequest: spec.concurrent ? Number.NaN : median(samples.map(cpuPerRequest)),
    errors,
    timeouts,
    unexpected,
    shed,
    statusCodes,
    perRound: [...samples]
  }
}

const whole = (value: number): string => Number.isFinite(value) ? Math.round(value).toString() : 'n/a'
const ms = (value: number): string => Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : 'n/a'

export const TABLE_HEADER = ['scenario', 'conns', 'req/s', '2xx/s', 'p50 ms', 'p99 ms', 'server CPU %', 'CPU µs/req',
  'errors', 'timeouts', 'non-2xx', '503 shed']

export function table (rows: readonly Row[]): string {
  const lines = [
    `| ${TABLE_HEADER.join(' | ')} |`,
    `|${TABLE_HEADER.map((_, i) => i === 0 ? '---' : '--:').join('|')}|`
  ]
  for (const row of rows) {
    const cells = [
      row.spec.label, String(row.spec.connections), whole(row.rps), whole(row.okRps), ms(row.p50), ms(row.p99),
      whole(row.cpuPercent), row.spec.concurrent ? '-' : whole(row.cpuMicrosPerRequest),
      String(row.errors), String(row.timeouts), String(row.unexpected), row.spec.mayShed ? String(row.shed) : '-'
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

export function verdicts (rows: ReadonlyMap<RowKey, Row>, peakRssMiB: number | undefined, pairs: readonly SideBySide[]): Verdict[] {
  const get = (key: RowKey): Row => {
    const row = rows.get(key)
    if (row === undefined) throw new Error(`no measurement for ${key}`)
    return row
  }
  const beside = (row: RowKey, base: RowKey): SideBySide => {
    const pair = pairs.find((candidate) => candidate.row === row && candidate.base === base)
    if (pair === undefined) throw new Error(`no measurement of ${row} beside ${base}`)
    return pair
  }
  const health = get('health')
  const admin = get('admin')
  const itemsList = get('itemsList')
  const stormAdmin = get('stormAdmin')
  const two = (value: number): string => Number.isFinite(value) ? value.toFixed(2) : 'n/a'
  const ratioText = ({ ratio, byRound }: { ratio: number, byRound: number[] }): string =>
    `ratio ${two(ratio)}, the median of the rounds' ${byRound.map(two).join(', ')}`
  // The medians, and the server's CPU per answer (steadier than req/s on a busy machine), for reference.
  const figures = (row: Row, base: Row): string =>
    `medians ${whole(row.okRps)} vs ${whole(base.okRps)} req/s; ` +
      `server CPU ${whole(row.cpuMicrosPerRequest)} vs ${whole(base.cpuMicrosPerRequest)} µs/req`
  const out: Verdict[] = []

  const adminRatio = roundRatio(admin, health)
  out.push({
    pass: adminRatio.ratio >= 0.85,
    text: `GET /admin-only >= 0.85 x GET /health req/s: ${ratioText(adminRatio)} (${figures(admin, health)})`
  })
  const itemsRatio = roundRatio(itemsList, health)
  out.push({
    pass: itemsRatio.ratio >= 0.5,
    text: `GET /items?limit=20 >= 0.5 x GET /health req/s: ${ratioText(itemsRatio)} (${figures(itemsList, health)})`
  })
  const stormRatio = roundRatio(stormAdmin, admin)
  out.push({
    pass: stormAdmin.p99 <= 50 && stormRatio.ratio >= 0.5,
    text: `login storm: GET /admin-only p99 <= 50 ms and req/s >= 0.5 x without storm: p99 ${ms(stormAdmin.p99)} ms, ` +
      `${ratioText(stormRatio)} (medians ${whole(stormAdmin.okRps)} vs ${whole(admin.okRps)} req/s)`
  })
  const failures = [...rows.values()].reduce((sum, row) => sum + row.errors + row.timeouts + row.unexpected, 0)
  const rss = peakRssMiB === undefined ? 'unknown' : `${peakRssMiB.toFixed(1)} MiB`
  out.push({
    pass: failures === 0 && peakRssMiB !== undefined && peakRssMiB <= 200,
    text: `zero errors and timeouts, peak RSS <= 200 MiB: ${failures} errors/timeouts/unexpected non-2xx, peak RSS ${rss}`
  })
  // Issue 13: the cost of request logs, the distance to the framework and to its JWT plugin, and many users.
  const ratioVerdict = (row: Row, base: Row, threshold: number, claim: string): Verdict => {
    const ratio = roundRatio(row, base)
    return { pass: ratio.ratio >= threshold, text: `${claim}: ${ratioText(ratio)} (${figures(row, base)})` }
  }
  // Rows of two processes compare side by side: 2xx per CPU-second in the same seconds (SideBySide).
  const pairFigures = (pair: SideBySide): string => {
    const micros = (pick: (round: { row: Sample, base: Sample }) => Sample): string =>
      whole(median(pair.rounds.map(pick).map(cpuPerRequest)))
    return `side by side, server CPU ${micros((round) => round.row)} vs ${micros((round) => round.base)} µs/req; ` +
      `alone, ${figures(get(pair.row), get(pair.base))}`
  }
  const pairText = (pair: SideBySide, claim: string, ratio = sideBySideRatio(pair)): string =>
    `${claim}: ${ratioText(ratio)} (2xx per CPU-second; ${pairFigures(pair)})`
  const pairVerdict = (pair: SideBySide, threshold: number, claim: string): Verdict => {
    const ratio = sideBySideRatio(pair)
    return { pass: ratio.ratio >= threshold, text: pairText(pair, claim, ratio) }
  }
  const pairInfo = (pair: SideBySide, claim: string): Verdict => ({ text: pairText(pair, claim) })
  // The LOG_LEVEL=info and METRICS_PORT processes serve /admin-only only, so their base is the process
  // at warn that does the same, not the one that serves every route (README, "One server serves every row").
  out.push(pairVerdict(beside('adminInfo', 'adminSolo'), 0.85, 'GET /admin-only at LOG_LEVEL=info >= 0.85 x at LOG_LEVEL=warn'))
  out.push(pairVerdict(beside('admin', 'peerBare'), 0.85, 'GET /admin-only (LOG_LEVEL=warn) >= 0.85 x bare Fastify 5 (no auth)'))
  // Helmet's headers, which issue 13 keeps, cost bare Fastify alone about as much as the 0.85 above
  // allows (README, "Where GET /admin-only stands against bare Fastify"): these show that share, and
  // where ours stands against a server that does nothing but set them.
  out.push(pairInfo(beside('peerBareHelmet', 'peerBare'), 'bare Fastify 5 + helmet\'s headers vs bare Fastify 5, no target'))
  out.push(pairInfo(beside('admin', 'peerBareHelmet'), 'GET /admin-only (LOG_LEVEL=warn) vs bare Fastify 5 + helmet\'s headers, no target'))
  out.push(pairVerdict(beside('admin', 'peerJwt'), 1.5, 'GET /admin-only (LOG_LEVEL=warn) >= 1.5 x Fastify 5 + @fastify/jwt'))
  out.push(ratioVerdict(get('adminManyUsers'), admin, 0.6, 'GET /admin-only, every user\'s own token in turn >= 0.6 x one token'))
  // Issue 14.4: metrics must cost little.
  out.push(pairVerdict(beside('adminMetrics', 'adminSolo'), 0.95, 'GET /admin-only with METRICS_PORT set >= 0.95 x without'))
  // Issue 11: PostgreSQL mode, where measured (bench/run.ts skips it without PostgreSQL). Its target is
  // the server's CPU per authorized read, which no query per request keeps at SQLite's.
  const cpuFigures = (row: Row, base: Row): string =>
    `medians ${whole(row.cpuMicrosPerRequest)} vs ${whole(base.cpuMicrosPerRequest)} µs/req, ` +
      `${whole(row.okRps)} vs ${whole(base.okRps)} req/s`
  if (rows.has('pgAdmin')) {
    const pair = beside('pgAdmin', 'admin')
    const ratio = sideBySideRatio(pair, cpuPerRequest)
    out.push({
      pass: ratio.ratio <= 1.15,
      text: `GET /admin-only (PostgreSQL) CPU µs/req <= 1.15 x SQLite mode: CPU ${ratioText(ratio)} ` +
        `(server CPU per response, the issue's measure, not 2xx/s; ${pairFigures(pair)})`
    })
  }
  const pgItems = rows.get('pgItemsCreate')
  if (pgItems !== undefined) {
    const itemsCreate = get('itemsCreate')
    const ratio = roundRatio(pgItems, itemsCreate, cpuPerRequest)
    out.push({
      text: `POST /items (PostgreSQL) CPU µs/req vs SQLite mode, no target: CPU ${ratioText(ratio)} ` +
        `(${cpuFigures(pgItems, itemsCreate)}; PostgreSQL's own CPU not counted)`
    })
  }
  return out
}

/** The `q`-quantile (0..1) of `values`, nearest rank; NaN for none. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

/** One revoking change made on one instance: how long until every other instance refused the old token. */
export interface PropagationTrial {
  kind: string
  ms: number
}

/** Issue 11, API.md "Several instances": refused everywhere within 1 s, 100 ms typically. */
export function propagationVerdict (trials: readonly PropagationTrial[], instances: number): Verdict {
  const times = trials.map((trial) => trial.ms)
  const kinds = [...new Set(trials.map((trial) => trial.kind))]
  const p99 = quantile(times, 0.99)
  const max = Math.max(...times)
  return {
    pass: times.length > 0 && max <= 1000 && p99 <= 100,
    text: `propagation across ${instances} instances on one PostgreSQL, every trial within 1 s and p99 within 100 ms: ` +
      `p50 ${ms(quantile(times, 0.5))} ms, p99 ${ms(p99)} ms, max ${ms(max)} ms over ${times.length} trials (${kinds.join(', ')})`
  }
}

/** Per kind of change, p50 / p99 / max in ms. */
export function propagationByKind (trials: readonly PropagationTrial[]): string {
  const kinds = [...new Set(trials.map((trial) => trial.kind))]
  return kinds.map((kind) => {
    const times = trials.filter((trial) => trial.kind === kind).map((trial) => trial.ms)
    return `${kind} ${ms(quantile(times, 0.5))} / ${ms(quantile(times, 0.99))} / ${ms(Math.max(...times))}`
  }).join(', ')
}

export function verdictLine (verdict: Verdict): string {
  return `${verdict.pass === undefined ? 'INFO' : verdict.pass ? 'PASS' : 'FAIL'}  ${verdict.text}`
}

export function detailNote (rows: readonly Row[]): string {
  return rows.map((row) => {
    const codes = Object.entries(row.statusCodes).map(([code, count]) => `${code}: ${count}`).join(', ')
    const rounds = row.perRound.map((round) => {
      const cpu = round.serverCpuSeconds === undefined ? '' : ` CPU ${whole(cpuPercent(round))}%`
      const rss = round.peakRssMiB === undefined ? '' : ` VmHWM ${round.peakRssMiB.toFixed(0)}`
      return `${whole(okRps(round))}/s p99 ${ms(round.p99)}${cpu}${rss}`
    }).join(' · ')
    return `- ${row.spec.label}: ${codes === '' ? 'no responses' : codes}; by round: ${rounds}`
  }).join('\n')
}

/** For each pair, each round: 2xx/s and CPU µs/req of the row, then of its base. */
export function sideBySideNote (rows: readonly Row[], pairs: readonly SideBySide[]): string {
  const label = (key: RowKey): string => rows.find((row) => row.spec.key === key)?.spec.label ?? key
  const figures = (sample: Sample): string => `${whole(okRps(sample))}/s ${whole(cpuPerRequest(sample))} µs`
  return pairs.map((pair) => {
    const rounds = pair.rounds.map(({ row, base }) => `${figures(row)} | ${figures(base)}`).join(' · ')
    return `- ${label(pair.row)} | beside ${label(pair.base)}: ${rounds}`
  }).join('\n')
}

export function markdown ({ rows, pairs, verdictList, peakRssMiB, machine, settings, notes }: {
  rows: readonly Row[]
  pairs: readonly SideBySide[]
  verdictList: readonly Verdict[]
  peakRssMiB: number | undefined
  machine: Machine
  settings: Settings
  notes: readonly string[]
}): string {
  return [
    '# Load benchmark',
    '',
    `${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · Node ${machine.node} · ${machine.os} · ${machine.load}`,
    '',
    `${settings.rounds} interleaved round(s) of ${settings.duration} s per scenario (after ${settings.warmup} s of warm-up each); ` +
      'req/s, 2xx/s, p50, p99 and the server columns are medians over the rounds; errors, timeouts, non-2xx and 503 shed are totals. ' +
      'Server CPU is user + system time of every server thread over the measurement, in % of one core; ' +
      'CPU µs/req divides it by the responses. ' +
      `${machine.pinning}.`,
    '',
    table(rows),
    '',
    `Peak server RSS (VmHWM): ${peakRssMiB === undefined ? 'unknown' : `${peakRssMiB.toFixed(1)} MiB`}`,
    '',
    'A verdict that compares two rows of one server process takes, in each round, the ratio of their 2xx/s (measured back to back), ' +
      'and then the median of those ratios. A verdict that compares two processes (LOG_LEVEL=info, METRICS_PORT, the peers, ' +
      'PostgreSQL) takes its ratios from a further measurement each round, in which both processes, pinned to the same CPU, are ' +
      'loaded at the same time ("side by side"): the ratio of their 2xx per CPU-second (of their CPU µs/req for PostgreSQL), ' +
      'so that other work on the machine slows both alike.',
    '',
    '```',
    ...verdictList.map(verdictLine),
    '```',
    '',
    'Status codes over all rounds; then, for each round, 2xx/s, p99 (ms), server CPU and the server\'s VmHWM (MiB) after it:',
    '',
    detailNote(rows),
    '',
    'Side by side, each round: 2xx/s and server CPU µs/req of the row | of the process beside it (each had about half the CPU):',
    '',
    sideBySideNote(rows, pairs),
    ...(notes.length > 0 ? ['', ...notes.map((note) => `- ${note}`)] : []),
    ''
  ].join('\n')
}
