// The measuring loop: a warm-up per scenario, then interleaved rounds, each scenario measured
// after its server, and the one loaded before it, have gone idle.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { HarnessError } from './harness-error.js'
import type { LoadJob, LoadSummary } from './load.js'
import { cpuSeconds, nodeCommand, peakRssMiB, tail, track, type Pinning } from './processes.js'
import type { RowKey, RowSpec, Sample } from './report.js'
import type { Server } from './server.js'

const LOADER = join(dirname(fileURLToPath(import.meta.url)), 'load.js')
const PAUSE_MS = 300
/** Before each measurement the server must have been this idle over the last window (a /token run leaves logins hashing). */
const SETTLED_CPU_SHARE = 0.1
const SETTLE_WINDOW_MS = 200
const SETTLE_LIMIT_MS = 5000

/** One row of the table: a load against one server. */
export interface Scenario {
  spec: RowSpec
  server: Server
  job: (duration: number, delayMs?: number) => LoadJob
}

/** Two rows measured at once on one server: a login storm and GET /admin-only meanwhile. */
export interface Storm {
  server: Server
  storm: Scenario
  victim: Scenario
  /** The storm starts this much earlier and ends this much later than the measurement it disturbs. */
  leadMs: number
}

async function runLoad (job: LoadJob, pinning: Pinning): Promise<LoadSummary> {
  const [command, args] = nodeCommand(pinning.load, [LOADER, JSON.stringify(job)])
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  const stdout = tail(65_536)
  const stderr = tail(8192)
  child.stdout?.on('data', stdout.push)
  child.stderr?.on('data', stderr.push)
  const limitMs = job.delayMs + (job.duration + job.timeout + 20) * 1000
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(-1))
    child.once('close', (exitCode) => resolve(exitCode))
  })
  clearTimeout(killer)
  const line = stdout.text().trim().split('\n').pop() ?? ''
  if (code !== 0 || line === '') {
    throw new HarnessError(`load generator for ${job.method} ${job.url} failed (exit ${code}):\n${stderr.text()}`)
  }
  return JSON.parse(line) as LoadSummary
}

/** Runs the jobs at once against one server, and notes what it spent and its peak memory meanwhile. */
async function measure (server: Server, pinning: Pinning, ...jobs: LoadJob[]): Promise<Sample[]> {
  const before = await cpuSeconds(server.pid)
  const summaries = await Promise.all(jobs.map(async (job) => await runLoad(job, pinning)))
  const after = await cpuSeconds(server.pid)
  const serverCpuSeconds = before === undefined || after === undefined ? undefined : after - before
  const windowSeconds = Math.max(...summaries.map((summary) => summary.duration))
  return summaries.map((summary) => ({ ...summary, serverCpuSeconds, windowSeconds, peakRssMiB: peakRssMiB(server.pid) }))
}

/**
 * Waits until the server has used less than SETTLED_CPU_SHARE of a core over a window, so that no
 * measurement starts while logins queued by an earlier /token run are still being hashed.
 * Returns the milliseconds waited; gives up after SETTLE_LIMIT_MS (where /proc is missing, at once).
 */
async function settle (pid: number): Promise<number> {
  const started = Date.now()
  await sleep(PAUSE_MS)
  while (Date.now() - started < SETTLE_LIMIT_MS) {
    const before = await cpuSeconds(pid)
    await sleep(SETTLE_WINDOW_MS)
    const after = await cpuSeconds(pid)
    if (before === undefined || after === undefined || (after - before) * 1000 < SETTLED_CPU_SHARE * SETTLE_WINDOW_MS) break
  }
  return Date.now() - started
}

export interface RoundsPlan {
  scenarios: readonly Scenario[]
  storm: Storm
  rounds: number
  duration: number
  warmup: number
  pinning: Pinning
  log: (line: string) => void
}

/** Every row's samples, one per round, in round order. */
export async function runRounds ({ scenarios, storm, rounds, duration, warmup, pinning, log }: RoundsPlan): Promise<Map<RowKey, Sample[]>> {
  const pause = async (server: Server): Promise<void> => {
    const waited = await settle(server.pid)
    if (waited >= 1000) log(`waited ${waited} ms for ${server.name} to go idle`)
  }

  if (warmup > 0) {
    log(`warm-up, ${warmup} s per scenario`)
    for (const scenario of scenarios) {
      await measure(scenario.server, pinning, scenario.job(warmup))
      await pause(scenario.server)
    }
  }

  const samples = new Map<RowKey, Sample[]>()
  const record = (key: RowKey, sample: Sample | undefined): void => {
    if (sample === undefined) throw new HarnessError(`no result for ${key}`)
    samples.set(key, [...(samples.get(key) ?? []), sample])
  }
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      log(`round ${round}/${rounds} ${scenario.spec.label}`)
      record(scenario.spec.key, (await measure(scenario.server, pinning, scenario.job(duration)))[0])
      await pause(scenario.server)
    }
    log(`round ${round}/${rounds} ${storm.victim.spec.label}`)
    const [stormSample, victimSample] = await measure(storm.server, pinning,
      storm.storm.job(duration + 2 * storm.leadMs / 1000), storm.victim.job(duration, storm.leadMs))
    record(storm.victim.spec.key, victimSample)
    record(storm.storm.spec.key, stormSample)
    await pause(storm.server)
  }
  return samples
}
