// The measuring loop: a warm-up per scenario, then interleaved rounds, each scenario measured
// after its server, and the one loaded before it, have gone idle; each round ends with the pairs.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { HarnessError } from './harness-error.js'
import type { LoadJob, LoadSummary } from './load.js'
import { cpuSeconds, nodeCommand, peakRssMiB, tail, track, type Pinning } from './processes.js'
import type { RowKey, RowSpec, Sample, SideBySide } from './report.js'
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
  /** Seconds of the same load, not measured, right before each measurement. */
  primeSeconds?: number
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

/** Runs the loads at once, and notes what each server spent and its peak memory meanwhile. */
async function measure (pinning: Pinning, ...loads: Array<{ server: Server, job: LoadJob }>): Promise<Sample[]> {
  const servers = [...new Set(loads.map((load) => load.server))]
  const before = await Promise.all(servers.map(async (server) => await cpuSeconds(server.pid)))
  const summaries = await Promise.all(loads.map(async (load) => await runLoad(load.job, pinning)))
  const after = await Promise.all(servers.map(async (server) => await cpuSeconds(server.pid)))
  const spent = new Map(servers.map((server, i) => {
    const [from, to] = [before[i], after[i]]
    return [server, from === undefined || to === undefined ? undefined : to - from]
  }))
  const windowSeconds = Math.max(...summaries.map((summary) => summary.duration))
  return summaries.map((summary, i) => {
    const { server } = loads[i] as { server: Server }
    return { ...summary, serverCpuSeconds: spent.get(server), windowSeconds, peakRssMiB: peakRssMiB(server.pid) }
  })
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

/**
 * Two rows on two server processes pinned to the same CPU, loaded at the same time once a round:
 * what else the machine runs then slows both alike (bench/report.ts, SideBySide).
 */
export interface Pair {
  row: Scenario
  base: Scenario
}

export interface RoundsPlan {
  scenarios: readonly Scenario[]
  storm: Storm
  pairs: readonly Pair[]
  rounds: number
  duration: number
  warmup: number
  pinning: Pinning
  log: (line: string) => void
}

/** Every row's samples, and every pair's, one per round, in round order. */
export async function runRounds ({ scenarios, storm, pairs, rounds, duration, warmup, pinning, log }: RoundsPlan):
Promise<{ samples: Map<RowKey, Sample[]>, sideBySide: SideBySide[] }> {
  const pause = async (server: Server): Promise<void> => {
    const waited = await settle(server.pid)
    if (waited >= 1000) log(`waited ${waited} ms for ${server.name} to go idle`)
  }

  if (warmup > 0) {
    log(`warm-up, ${warmup} s per scenario`)
    for (const scenario of scenarios) {
      await measure(pinning, { server: scenario.server, job: scenario.job(warmup) })
      await pause(scenario.server)
    }
  }

  const samples = new Map<RowKey, Sample[]>()
  const sideBySide: SideBySide[] = pairs.map(({ row, base }) => ({ row: row.spec.key, base: base.spec.key, rounds: [] }))
  const record = (key: RowKey, sample: Sample | undefined): void => {
    if (sample === undefined) throw new HarnessError(`no result for ${key}`)
    samples.set(key, [...(samples.get(key) ?? []), sample])
  }
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      if (scenario.primeSeconds !== undefined) {
        log(`round ${round}/${rounds} ${scenario.spec.label}: ${scenario.primeSeconds} s unmeasured first`)
        await measure(pinning, { server: scenario.server, job: scenario.job(scenario.primeSeconds) })
      }
      log(`round ${round}/${rounds} ${scenario.spec.label}`)
      record(scenario.spec.key, (await measure(pinning, { server: scenario.server, job: scenario.job(duration) }))[0])
      await pause(scenario.server)
    }
    log(`round ${round}/${rounds} ${storm.victim.spec.label}`)
    const [stormSample, victimSample] = await measure(pinning,
      { server: storm.server, job: storm.storm.job(duration + 2 * storm.leadMs / 1000) },
      { server: storm.server, job: storm.victim.job(duration, storm.leadMs) })
    record(storm.victim.spec.key, victimSample)
    record(storm.storm.spec.key, stormSample)
    await pause(storm.server)
    for (const [i, { row, base }] of pairs.entries()) {
      log(`round ${round}/${rounds} ${row.spec.label}, beside ${base.spec.label}`)
      const [rowSample, baseSample] = await measure(pinning, { server: row.server, job: row.job(duration) },
        { server: base.server, job: base.job(duration) })
      if (rowSample === undefined || baseSample === undefined) {
        throw new HarnessError(`no result for ${row.spec.key} beside ${base.spec.key}`)
      }
      sideBySide[i]?.rounds.push({ row: rowSample, base: baseSample })
      await pause(row.server)
      await pause(base.server)
    }
  }
  return { samples, sideBySide }
}
