// Turns the per-round load summaries into the table and the verdicts of issue 5. Pure functions.
import type { LoadSummary } from './load.js'

export type RowKey = 'health' | 'admin' | 'itemsList' | 'itemsCreate' | 'token' | 'stormAdmin' | 'stormToken'

export interface RowSpec {
  key: RowKey
  label: string
  connections: number
  /** Only /token may shed load with 503 + Retry-After (API.md "Tokens"); anywhere else a 503 is an error. */
  mayShed: boolean
}

export interface Row {
  spec: RowSpec
  rounds: number
  /** Medians over the rounds. */
  rps: number
  okRps: number
  p50: number
  p99: number
  /** Totals over the rounds. */
  errors: number
  timeouts: number
  /** Non-2xx answers other than the 503s a /token row may shed. */
  unexpected: number
  shed: number
  statusCodes: Record<string, number>
  /** Each round in order, to show drift and noise; peakRssMiB is the server's VmHWM right after it. */
  perRound: Array<{ okRps: number, p99: number, peakRssMiB: number | undefined }>
}

export interface Machine {
  cpuModel: string
  cores: number
  node: string
  os: string
  date: string
  pinning: string
  /** 1-minute load average before and after the run: other work on the machine skews every figure. */
  load: string
}

export interface Settings {
  duration: number
  rounds: number
  warmup: number
}

export interface Verdict {
  pass: boolean
  text: string
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function summarize (spec: RowSpec, samples: readonly LoadSummary[], peaks: ReadonlyArray<number | undefined>): Row {
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
  const okRps = (sample: LoadSummary): number =>
    Object.entries(sample.statusCodes).reduce((sum, [code, count]) => code.startsWith('2') ? sum + count : sum, 0) / sample.duration
  return {
    spec,
    rounds: samples.length,
    rps: median(samples.map((sample) => sample.requests / sample.duration)),
    okRps: median(samples.map(okRps)),
    p50: median(samples.map((sample) => sample.p50)),
    p99: median(samples.map((sample) => sample.p99)),
    errors,
    timeouts,
    unexpected,
    shed,
    statusCodes,
    perRound: samples.map((sample, i) => ({ okRps: okRps(sample), p99: sample.p99, peakRssMiB: peaks[i] }))
  }
}

const whole = (value: number): string => Number.isFinite(value) ? Math.round(value).toString() : 'n/a'
const ms = (value: number): string => Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : 'n/a'

export const TABLE_HEADER = ['scenario', 'conns', 'req/s', '2xx/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx', '503 shed']

export function table (rows: readonly Row[]): string {
  const lines = [
    `| ${TABLE_HEADER.join(' | ')} |`,
    `|${TABLE_HEADER.map((_, i) => i === 0 ? '---' : '--:').join('|')}|`
  ]
  for (const row of rows) {
    const cells = [
      row.spec.label, String(row.spec.connections), whole(row.rps), whole(row.okRps), ms(row.p50), ms(row.p99),
      String(row.errors), String(row.timeouts), String(row.unexpected), row.spec.mayShed ? String(row.shed) : '-'
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

export function verdicts (rows: ReadonlyMap<RowKey, Row>, peakRssMiB: number | undefined): Verdict[] {
  const get = (key: RowKey): Row => {
    const row = rows.get(key)
    if (row === undefined) throw new Error(`no measurement for ${key}`)
    return row
  }
  const health = get('health')
  const admin = get('admin')
  const itemsList = get('itemsList')
  const stormAdmin = get('stormAdmin')
  const ratio = (a: number, b: number): string => (a / b).toFixed(2)
  const out: Verdict[] = []

  out.push({
    pass: admin.okRps >= 0.85 * health.okRps,
    text: `GET /admin-only >= 0.85 x GET /health req/s: ${whole(admin.okRps)} vs ${whole(health.okRps)} (ratio ${ratio(admin.okRps, health.okRps)})`
  })
  out.push({
    pass: itemsList.okRps >= 0.5 * health.okRps,
    text: `GET /items?limit=20 >= 0.5 x GET /health req/s: ${whole(itemsList.okRps)} vs ${whole(health.okRps)} (ratio ${ratio(itemsList.okRps, health.okRps)})`
  })
  out.push({
    pass: stormAdmin.p99 <= 50 && stormAdmin.okRps >= 0.5 * admin.okRps,
    text: `login storm: GET /admin-only p99 <= 50 ms and req/s >= 0.5 x without storm: p99 ${ms(stormAdmin.p99)} ms, ` +
      `${whole(stormAdmin.okRps)} vs ${whole(admin.okRps)} req/s (ratio ${ratio(stormAdmin.okRps, admin.okRps)})`
  })
  const failures = [...rows.values()].reduce((sum, row) => sum + row.errors + row.timeouts + row.unexpected, 0)
  const rss = peakRssMiB === undefined ? 'unknown' : `${peakRssMiB.toFixed(1)} MiB`
  out.push({
    pass: failures === 0 && peakRssMiB !== undefined && peakRssMiB <= 200,
    text: `zero errors and timeouts, peak RSS <= 200 MiB: ${failures} errors/timeouts/unexpected non-2xx, peak RSS ${rss}`
  })
  return out
}

export function verdictLine (verdict: Verdict): string {
  return `${verdict.pass ? 'PASS' : 'FAIL'}  ${verdict.text}`
}

export function detailNote (rows: readonly Row[]): string {
  return rows.map((row) => {
    const codes = Object.entries(row.statusCodes).map(([code, count]) => `${code}: ${count}`).join(', ')
    const rounds = row.perRound.map((round) =>
      `${whole(round.okRps)}/s p99 ${ms(round.p99)}${round.peakRssMiB === undefined ? '' : ` VmHWM ${round.peakRssMiB.toFixed(0)}`}`).join(' · ')
    return `- ${row.spec.label}: ${codes === '' ? 'no responses' : codes}; by round: ${rounds}`
  }).join('\n')
}

export function markdown ({ rows, verdictList, peakRssMiB, machine, settings, notes }: {
  rows: readonly Row[]
  verdictList: readonly Verdict[]
  peakRssMiB: number | undefined
  machine: Machine
  settings: Settings
  notes: readonly string[]
}): string {
  return [
    '# Load benchmark',
    '',
    `${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · Node ${machine.node} · ${machine.os} · load average ${machine.load}`,
    '',
    `${settings.rounds} interleaved round(s) of ${settings.duration} s per scenario (after ${settings.warmup} s of warm-up each); ` +
      'req/s, 2xx/s, p50 and p99 are medians over the rounds; errors, timeouts, non-2xx and 503 shed are totals. ' +
      `${machine.pinning}.`,
    '',
    table(rows),
    '',
    `Peak server RSS (VmHWM): ${peakRssMiB === undefined ? 'unknown' : `${peakRssMiB.toFixed(1)} MiB`}`,
    '',
    '```',
    ...verdictList.map(verdictLine),
    '```',
    '',
    'Status codes over all rounds; then 2xx/s, p99 (ms) and the server\'s VmHWM (MiB) after each round:',
    '',
    detailNote(rows),
    ...(notes.length > 0 ? ['', ...notes.map((note) => `- ${note}`)] : []),
    ''
  ].join('\n')
}
