// `npm run bench` (issue 5): starts the built server on a temporary database, drives it with
// autocannon from separate processes, prints the table and one verdict per target, and writes
// bench/results.md. Exits 0 whatever the verdicts; non-zero only when the harness itself breaks.
//
//   BENCH_DURATION   seconds per measurement (10)
//   BENCH_ROUNDS     interleaved rounds (3)
//   BENCH_CONNECTIONS connections per autocannon instance (50)
//   BENCH_WARMUP     seconds of unmeasured load per scenario before round 1 (1; 0 with --smoke)
//   BENCH_RESULTS    where to write the markdown (bench/results.md)
//   BENCH_CPU_PROF   a folder: run the server under `node --cpu-prof` and leave the profile there
//   --smoke          1 round of 1 s, no warm-up: proves the harness works, measures nothing
//   --out <path>     same as BENCH_RESULTS
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { cpus, loadavg, release, tmpdir, type } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { LoadJob, LoadSummary } from './load.js'
import {
  markdown, summarize, table, verdictLine, verdicts, type Machine, type Row, type RowKey, type RowSpec, type Sample, type Settings
} from './report.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..')
const SERVER = join(ROOT, 'dist', 'src', 'main.cjs')
/**
 * As `npm start` runs it: V8's young generation at 8 MiB semi-spaces instead of 16 (15 MiB less peak
 * RSS, no measured cost), and old space capped at 512 MiB, which keeps V8's heap growing factor at
 * 1.4 instead of 4 (README, "Soak").
 */
const SERVER_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512']
const LOADER = join(HERE, 'load.js')

const STARTUP_TIMEOUT_MS = 15_000
const SHUTDOWN_TIMEOUT_MS = 12_000
const REQUEST_TIMEOUT_S = 10
const SEED_ITEMS = 50
/** The storm starts this much earlier and ends this much later than the measurement it disturbs. */
const STORM_LEAD_MS = 1000
const SMOKE_STORM_LEAD_MS = 250
const PAUSE_MS = 300
/** Before each measurement the server must have been this idle over the last window (a /token run leaves logins hashing). */
const SETTLED_CPU_SHARE = 0.1
const SETTLE_WINDOW_MS = 200
const SETTLE_LIMIT_MS = 5000

class HarnessError extends Error {}

interface Options extends Settings {
  connections: number
  out: string
  cpuProfDir?: string
  smoke: boolean
}

function positive (name: string, fallback: number, { integer = false, zero = false } = {}): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < 0 || (!zero && value === 0)) {
    throw new HarnessError(`${name}: expected a ${integer ? 'whole ' : ''}number${zero ? ' >= 0' : ' > 0'}, got "${raw}"`)
  }
  return value
}

function parseOptions (argv: readonly string[]): Options {
  let out = process.env.BENCH_RESULTS ?? ''
  let smoke = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--smoke') smoke = true
    else if (arg === '--out' && argv[i + 1] !== undefined) out = argv[++i] as string
    else throw new HarnessError(`unknown argument "${arg}" (known: --smoke, --out <path>)`)
  }
  return {
    duration: smoke ? 1 : positive('BENCH_DURATION', 10),
    rounds: smoke ? 1 : positive('BENCH_ROUNDS', 3, { integer: true }),
    warmup: smoke ? 0 : positive('BENCH_WARMUP', 1, { zero: true }),
    connections: positive('BENCH_CONNECTIONS', 50, { integer: true }),
    out: out === '' ? join(ROOT, 'bench', 'results.md') : resolve(out),
    cpuProfDir: process.env.BENCH_CPU_PROF === undefined || process.env.BENCH_CPU_PROF === '' ? undefined : resolve(process.env.BENCH_CPU_PROF),
    smoke
  }
}

// --- processes -----------------------------------------------------------------------------

const children = new Set<ChildProcess>()
let tempFolder: string | undefined

/** The CPUs this process may run on, from /proc; empty where that is unknown. */
function allowedCpus (): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'))
    if (line === undefined) return []
    return line.split(':')[1]!.trim().split(',').flatMap((part) => {
      const [from, to] = part.split('-').map(Number) as [number, number | undefined]
      return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i)
    })
  } catch {
    return []
  }
}

interface Pinning { server?: number, load?: number, description: string }

function choosePinning (): Pinning {
  const cpuList = allowedCpus()
  const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  if (!hasTaskset) return { description: 'Server and load generators unpinned (no taskset)' }
  if (cpuList.length < 2) return { description: 'Server and load generators unpinned (fewer than 2 usable CPUs)' }
  const [server, load] = cpuList as [number, number]
  return { server, load, description: `Server pinned to CPU ${server} and load generators to CPU ${load} with taskset` }
}

function nodeCommand (cpu: number | undefined, args: string[]): [string, string[]] {
  return cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]]
}

function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

async function freePort (): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => typeof address === 'object' && address !== null ? resolvePort(address.port) : reject(new Error('no port')))
    })
  })
}

/** Keeps the last `limit` characters a stream wrote, for error messages. */
function tail (limit: number): { push: (chunk: Buffer) => void, text: () => string } {
  let text = ''
  return {
    push (chunk) { text = (text + chunk.toString()).slice(-limit) },
    text: () => text
  }
}

interface Server {
  child: ChildProcess
  pid: number
  base: string
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

// Configuration the benchmark fixes whatever the caller's shell says (API.md "Running").
const SERVER_VARIABLES = ['HOST', 'PORT', 'DATABASE_PATH', 'JWT_SECRET', 'JWT_PRIVATE_KEY_FILE', 'JWT_PREVIOUS_PUBLIC_KEYS',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'DEMO_USERS', 'NODE_ENV', 'LOGIN_MAX_FAILURES',
  'LOGIN_WINDOW', 'TOKEN_RATE_LIMIT', 'LOG_LEVEL', 'CORS_ORIGINS']

async function startServer (databasePath: string, pinning: Pinning, cpuProfDir: string | undefined): Promise<Server> {
  if (!existsSync(SERVER)) throw new HarnessError(`${SERVER} is missing: run \`npm ci\` or \`npm run build\` first`)
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of SERVER_VARIABLES) delete env[name]
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_PATH: databasePath,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DEMO_USERS: 'true',
    LOG_LEVEL: 'warn',
    TOKEN_RATE_LIMIT: '0',
    LOGIN_MAX_FAILURES: '1000000000',
    // The tokens obtained at the start must outlive a long run (BENCH_DURATION=60 is over 20 minutes).
    ACCESS_TOKEN_TTL: '86400',
    // As `npm start` runs it: glibc serves argon2's 19 MiB buffers with mmap and returns them, instead of
    // keeping one arena of them per libuv thread.
    MALLOC_MMAP_THRESHOLD_: '1048576'
  })
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`]
  const [command, args] = nodeCommand(pinning.server, [...profile, ...SERVER_NODE_FLAGS, SERVER])
  const child = track(spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }))
  const output = tail(16_384)
  child.stdout?.on('data', output.push)
  child.stderr?.on('data', output.push)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }))
  })
  const spawned = await new Promise<boolean>((resolveSpawn) => {
    child.once('spawn', () => resolveSpawn(true))
    child.once('error', () => resolveSpawn(false))
  })
  if (!spawned || child.pid === undefined) throw new HarnessError(`could not start ${command}`)
  const server: Server = { child, pid: child.pid, base: `http://127.0.0.1:${port}`, output: output.text, exited }

  let gone = false
  void exited.then(() => { gone = true })
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return server
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new HarnessError(`the server did not answer GET /health within ${STARTUP_TIMEOUT_MS} ms${gone ? ' (it exited)' : ''}:\n${output.text()}`)
}

async function stopServer (server: Server): Promise<string> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return `The server had already exited (${server.child.exitCode ?? server.child.signalCode})`
  const started = Date.now()
  server.child.kill('SIGTERM')
  // Unreferenced, so a prompt exit does not leave this process waiting for the timer.
  const outcome = await Promise.race([server.exited, sleep(SHUTDOWN_TIMEOUT_MS, undefined, { ref: false })])
  if (outcome === undefined) {
    server.child.kill('SIGKILL')
    await server.exited
    return `The server did not exit within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM and was killed`
  }
  return `The server exited with ${outcome.code ?? outcome.signal} ${Date.now() - started} ms after SIGTERM`
}

/** Peak resident set of the server, from the kernel's high-water mark (Linux only). */
function peakRssMiB (pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status)
    return match === null ? undefined : Number(match[1]) / 1024
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux only). */
function cpuSeconds (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15, in USER_HZ (100/s).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
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
  const code = await new Promise<number | null>((resolveExit) => {
    child.once('error', () => resolveExit(-1))
    child.once('close', (exitCode) => resolveExit(exitCode))
  })
  clearTimeout(killer)
  const line = stdout.text().trim().split('\n').pop() ?? ''
  if (code !== 0 || line === '') {
    throw new HarnessError(`load generator for ${job.method} ${job.url} failed (exit ${code}):\n${stderr.text()}`)
  }
  return JSON.parse(line) as LoadSummary
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
    const before = cpuSeconds(pid)
    await sleep(SETTLE_WINDOW_MS)
    const after = cpuSeconds(pid)
    if (before === undefined || after === undefined || (after - before) * 1000 < SETTLED_CPU_SHARE * SETTLE_WINDOW_MS) break
  }
  return Date.now() - started
}

// --- the API --------------------------------------------------------------------------------

async function call (base: string, method: string, path: string, init: { headers?: Record<string, string>, body?: string } = {}): Promise<{ status: number, body: string }> {
  try {
    const res = await fetch(`${base}${path}`, { method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) })
    return { status: res.status, body: await res.text() }
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err
    throw new HarnessError(`${method} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }

async function login (base: string, username: string, password: string): Promise<string> {
  const res = await call(base, 'POST', '/token', { headers: FORM, body: new URLSearchParams({ username, password }).toString() })
  const token = res.status === 200 ? (JSON.parse(res.body) as { access_token?: unknown }).access_token : undefined
  if (typeof token !== 'string') throw new HarnessError(`POST /token for ${username} answered ${res.status}: ${res.body.slice(0, 300)}`)
  return token
}

interface Scenario {
  spec: RowSpec
  job: (duration: number) => LoadJob
}

// --- main -----------------------------------------------------------------------------------

/** Where the kernel has PSI: the share of the last minute in which some task waited for a CPU, in %. */
function cpuPressure (): number | undefined {
  try {
    const match = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

function busyness (pressure: number | undefined): string {
  return `load ${(loadavg()[0] ?? 0).toFixed(2)}${pressure === undefined ? '' : `, CPU pressure ${pressure.toFixed(0)}%`}`
}

/** Above this CPU pressure before the run, other processes were competing for the CPUs. */
const BUSY_PRESSURE = 10

function machine (pinning: Pinning): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match !== null) cpuModel = (match[1] as string).trim()
  } catch {
    // Not Linux: os.cpus() it is.
  }
  return {
    cpuModel,
    cores: cpus().length,
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    pinning: pinning.description,
    load: busyness(cpuPressure())
  }
}

async function main (): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const pressureBefore = cpuPressure()
  const pinning = choosePinning()
  const info = machine(pinning)
  const began = Date.now()
  const log = (line: string): void => { process.stderr.write(`bench ${((Date.now() - began) / 1000).toFixed(1).padStart(5)}s: ${line}\n`) }
  log(`${options.rounds} round(s) x ${options.duration} s, ${options.connections} connections; ${pinning.description}`)

  const folder = await mkdtemp(join(tmpdir(), 'api-bench-'))
  tempFolder = folder
  let server: Server | undefined
  try {
    server = await startServer(join(folder, 'bench.db'), pinning, options.cpuProfDir)
    log(`server ${server.pid} answers on ${server.base}`)
    const { base, pid } = server
    const admin = await login(base, 'johndoe', 'secret')
    const client = await login(base, 'bob', 'secret3')
    const adminAuth = { authorization: `Bearer ${admin}` }
    const clientAuth = { authorization: `Bearer ${client}` }

    for (let i = 1; i <= SEED_ITEMS; i++) {
      const res = await call(base, 'POST', '/items', {
        headers: { ...clientAuth, ...JSON_TYPE },
        body: JSON.stringify({ name: `seed item ${i}`, description: `seeded by the load benchmark, number ${i}` })
      })
      if (res.status !== 201) throw new HarnessError(`seeding POST /items answered ${res.status}: ${res.body.slice(0, 300)}`)
    }

    const itemBody = JSON.stringify({ name: 'bench item', description: 'written by the load benchmark' })
    const loginBody = new URLSearchParams({ username: 'johndoe', password: 'secret' }).toString()
    const conns = options.connections
    const job = (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) =>
      (duration: number, delayMs = 0): LoadJob =>
        ({ url: `${base}${path}`, method, headers, body, connections: conns, duration, delayMs, timeout: REQUEST_TIMEOUT_S })
    const health = job('GET', '/health', {})
    const adminOnly = job('GET', '/admin-only', adminAuth)
    const token = job('POST', '/token', FORM, loginBody)
    const spec = (key: RowKey, label: string, mayShed = false, concurrent = false): RowSpec => ({ key, label, connections: conns, mayShed, concurrent })
    // GET /items reads as bob, a client who sees his own 50 items, while POST /items writes as
    // johndoe: the list's cost should not grow with the rows the write benchmark adds.
    const scenarios: Scenario[] = [
      { spec: spec('health', 'GET /health'), job: health },
      { spec: spec('admin', 'GET /admin-only'), job: adminOnly },
      { spec: spec('itemsList', 'GET /items?limit=20'), job: job('GET', '/items?limit=20', clientAuth) },
      { spec: spec('itemsCreate', 'POST /items'), job: job('POST', '/items', { ...adminAuth, ...JSON_TYPE }, itemBody) },
      { spec: spec('token', 'POST /token', true), job: token }
    ]
    const stormAdminSpec = spec('stormAdmin', 'GET /admin-only during login storm', false, true)
    const stormTokenSpec = spec('stormToken', 'POST /token (the storm)', true, true)

    // Each measured request must answer as the contract says before we time thousands of them.
    for (const scenario of scenarios) {
      const { url, method, headers, body } = scenario.job(1)
      const res = await call(base, method, url.slice(base.length), { headers, body })
      if (res.status < 200 || res.status > 299) throw new HarnessError(`${scenario.spec.label} answered ${res.status}: ${res.body.slice(0, 300)}`)
    }

    log('tokens obtained, items seeded, every scenario answers 2xx once')
    const lead = options.smoke ? SMOKE_STORM_LEAD_MS : STORM_LEAD_MS
    /** Runs the jobs at once, and notes what the server spent and its peak memory meanwhile. */
    const measure = async (...jobs: LoadJob[]): Promise<Sample[]> => {
      const before = cpuSeconds(pid)
      const summaries = await Promise.all(jobs.map(async (loadJob) => await runLoad(loadJob, pinning)))
      const after = cpuSeconds(pid)
      const serverCpuSeconds = before === undefined || after === undefined ? undefined : after - before
      const windowSeconds = Math.max(...summaries.map((summary) => summary.duration))
      return summaries.map((summary) => ({ ...summary, serverCpuSeconds, windowSeconds, peakRssMiB: peakRssMiB(pid) }))
    }

    const pause = async (): Promise<void> => {
      const waited = await settle(pid)
      if (waited >= 1000) log(`waited ${waited} ms for the server to go idle`)
    }

    if (options.warmup > 0) {
      log(`warm-up, ${options.warmup} s per scenario`)
      for (const scenario of scenarios) {
        await measure(scenario.job(options.warmup))
        await pause()
      }
    }

    const samples = new Map<RowKey, Sample[]>()
    const record = (key: RowKey, sample: Sample | undefined): void => {
      if (sample === undefined) throw new HarnessError(`no result for ${key}`)
      samples.set(key, [...(samples.get(key) ?? []), sample])
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const scenario of scenarios) {
        log(`round ${round}/${options.rounds} ${scenario.spec.label}`)
        record(scenario.spec.key, (await measure(scenario.job(options.duration)))[0])
        await pause()
      }
      log(`round ${round}/${options.rounds} ${stormAdminSpec.label}`)
      const [stormSample, adminSample] = await measure(token(options.duration + 2 * lead / 1000), adminOnly(options.duration, lead))
      record('stormAdmin', adminSample)
      record('stormToken', stormSample)
      await pause()
    }

    const rss = peakRssMiB(pid)
    const bobItems = await call(base, 'GET', '/items?limit=1', { headers: clientAuth })
    const allItems = await call(base, 'GET', '/items?limit=1', { headers: adminAuth })
    const total = (res: { body: string }): string => String((JSON.parse(res.body) as { total?: unknown }).total)
    const shutdown = await stopServer(server)
    const serverOutput = server.output().trim()

    const rows: Row[] = [...scenarios.map((scenario) => scenario.spec), stormAdminSpec, stormTokenSpec]
      .map((rowSpec) => summarize(rowSpec, samples.get(rowSpec.key) ?? []))
    const verdictList = verdicts(new Map(rows.map((row) => [row.spec.key, row])), rss)
    const clientBound = rows.filter((row) => row.cpuPercent < 90).map((row) => `${row.spec.label} (${Math.round(row.cpuPercent)}%)`)
    const notes = [
      ...(pressureBefore === undefined || pressureBefore <= BUSY_PRESSURE
        ? []
        : [`Other processes were competing for the CPUs before the run started (CPU pressure ${pressureBefore.toFixed(0)}% over the ` +
            'last minute, from /proc/pressure/cpu): req/s and latencies are lower and noisier than this machine gives when idle.']),
      ...(clientBound.length === 0
        ? []
        : [`The server used less than 90% of its CPU in: ${clientBound.join(', ')}. There the load generator, or other work on the ` +
            'machine, set the pace rather than the server; compare CPU µs/req for the cost of each path.']),
      'GET /items reads as bob (client, own items); POST /items writes as johndoe (admin); /token logs in johndoe.',
      `Items at the end: ${total(bobItems)} of bob's, ${total(allItems)} in all.`,
      'The /token rows count 503 + Retry-After (load shedding, by design) apart from errors; their p50/p99 include those fast 503s.',
      shutdown,
      ...(serverOutput === '' ? [] : [`The server wrote ${serverOutput.split('\n').length} line(s) at LOG_LEVEL=warn; the last: \`${serverOutput.split('\n').pop()!.slice(0, 300)}\``]),
      ...(options.smoke ? ['Smoke run: too short to measure anything; it only shows the harness works.'] : [])
    ]
    info.load = `${info.load} before, ${busyness(cpuPressure())} after (this run's own load included)`
    const text = markdown({ rows, verdictList, peakRssMiB: rss, machine: info, settings: options, notes })

    process.stdout.write(`\n${info.cpuModel}, ${info.cores} cores, Node ${info.node}; ${info.load}\n\n${table(rows)}\n\n` +
      `Peak server RSS: ${rss === undefined ? 'unknown' : `${rss.toFixed(1)} MiB`}\n\n`)
    for (const verdict of verdictList) process.stdout.write(`${verdictLine(verdict)}\n`)
    await writeFile(`${options.out}.tmp`, text)
    await rename(`${options.out}.tmp`, options.out)
    log(`${shutdown}; results written to ${options.out}`)
  } catch (err) {
    if (server !== undefined) {
      const state = server.child.exitCode ?? server.child.signalCode
      process.stderr.write(`bench: the server ${state === null ? 'is running' : `exited (${state})`}; its last output:\n${server.output()}\n`)
    }
    throw err
  } finally {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
    for (const child of children) child.kill('SIGKILL')
    await rm(folder, { recursive: true, force: true })
  }
}

// A closed pipe (`npm run bench | head`) must not abort the run before it cleans up and writes results.md.
process.stdout.on('error', () => {})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL')
    if (tempFolder !== undefined) rmSync(tempFolder, { recursive: true, force: true })
    process.exit(130)
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof HarnessError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
