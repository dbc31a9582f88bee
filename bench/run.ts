// `npm run bench` (issues 5 and 13): starts the built server and two reference servers on a
// temporary database, drives them with autocannon from separate processes, prints the table and
// one verdict per target, and writes bench/results.md. Exits 0 whatever the verdicts; non-zero only
// when the harness itself breaks. Settings: bench/options.ts.
import { rmSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { call, login, manyUsersTokens, seedItems } from './api.js'
import { HarnessError } from './harness-error.js'
import { BUSY_PRESSURE, busyness, cpuPressure, machine } from './machine.js'
import { parseOptions, type Options } from './options.js'
import { choosePinning, freePort, killChildren, peakRssMiB, pinSelf, type Pinning } from './processes.js'
import { markdown, summarize, table, verdictLine, verdicts, type Row } from './report.js'
import { runRounds, type Scenario } from './rounds.js'
import { scenarios, type Servers } from './scenarios.js'
import { benchSecret, isRunning, ourServerEnv, startServer, stopServer, type Server } from './server.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..')
const OUR_SERVER = join(ROOT, 'dist', 'src', 'main.cjs')
/**
 * As `npm start` runs it: old space capped at 512 MiB, which keeps V8's heap growing factor at 1.4
 * instead of 4 (README, "Soak"). The young generation keeps its default (README, "Load benchmark").
 */
const OUR_NODE_FLAGS = ['--max-old-space-size=512']
const SEED_ITEMS = 50
/** Issue 13.3: more distinct tokens than the verified-token map in plugins/auth.ts keeps (10,000). */
const MANY_USERS = 20_000

let tempFolder: string | undefined

/** Fills `servers` as they start, so that a failure can still report on (and stop) those already up. */
async function startServers (servers: Partial<Servers>, folder: string, options: Options, pinning: Pinning, log: (line: string) => void):
Promise<Servers> {
  const secret = benchSecret()
  const databasePath = join(folder, 'bench.db')
  const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`]
  const ours = (logLevel: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<Server> => startServer({
    name,
    script: OUR_SERVER,
    env: { ...ourServerEnv({ databasePath, secret, logLevel }), ...env },
    nodeFlags: [...profile, ...OUR_NODE_FLAGS],
    cpu: pinning.server
  })
  // One at a time: the first creates the database and its demo users; the second opens them.
  servers.ours = await ours('warn', 'the server')
  servers.oursInfo = await ours('info', 'the server at LOG_LEVEL=info')
  const metricsPort = String(await freePort())
  servers.oursMetrics = await ours('warn', 'the server with METRICS_PORT', { METRICS_PORT: metricsPort })
  // The row measures metrics only if they are on: GET /metrics must answer on their port.
  const scraped = await call(`http://127.0.0.1:${metricsPort}`, 'GET', '/metrics')
  if (scraped.status !== 200) throw new HarnessError(`GET /metrics on METRICS_PORT answered ${scraped.status}`)
  const peer = (file: string, name: string): Promise<Server> => startServer({
    name,
    script: join(HERE, 'peers', file),
    env: { PATH: process.env.PATH, JWT_SECRET: secret },
    cpu: pinning.server,
    readyPath: '/admin-only'
  })
  servers.bare = await peer('bare.js', 'bare Fastify')
  servers.jwt = await peer('jwt.js', 'the @fastify/jwt peer')
  log(`servers answer: ours ${servers.ours.pid} (warn), ${servers.oursInfo.pid} (info) and ${servers.oursMetrics.pid} (METRICS_PORT), ` +
    `peers ${servers.bare.pid} and ${servers.jwt.pid}`)
  return servers as Servers
}

/** Each measured request must answer as the contract says before we time thousands of them. */
async function checkOnce (list: readonly Scenario[], manyTokens: readonly string[]): Promise<void> {
  for (const { spec, server, job } of list) {
    const { url, method, headers, body, bearerTokensFile } = job(1)
    const tried = bearerTokensFile === undefined
      ? [headers]
      : [manyTokens[0], manyTokens.at(-1)].map((token) => ({ ...headers, authorization: `Bearer ${token}` }))
    for (const sent of tried) {
      const res = await call(server.base, method, url.slice(server.base.length), { headers: sent, body })
      if (res.status < 200 || res.status > 299) throw new HarnessError(`${spec.label} answered ${res.status}: ${res.body.slice(0, 300)}`)
    }
  }
}

async function main (): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env, ROOT)
  const pressureBefore = cpuPressure()
  const pinning = choosePinning()
  pinSelf(pinning)
  const info = machine(pinning.description)
  const began = Date.now()
  const log = (line: string): void => { process.stderr.write(`bench ${((Date.now() - began) / 1000).toFixed(1).padStart(5)}s: ${line}\n`) }
  log(`${options.rounds} round(s) x ${options.duration} s, ${options.connections} connections; ${pinning.description}`)

  const folder = await mkdtemp(join(tmpdir(), 'api-bench-'))
  tempFolder = folder
  const servers: Partial<Servers> = {}
  try {
    const { ours } = await startServers(servers, folder, options, pinning, log)
    const admin = `Bearer ${await login(ours.base, 'johndoe', 'secret')}`
    const client = `Bearer ${await login(ours.base, 'bob', 'secret3')}`
    await seedItems(ours.base, client, SEED_ITEMS)
    const manyTokens = await manyUsersTokens(ours.env, MANY_USERS)
    const manyTokensFile = join(folder, 'tokens.json')
    await writeFile(manyTokensFile, JSON.stringify(manyTokens))
    const plan = scenarios(servers as Servers, { admin, client, manyTokensFile, manyUsers: MANY_USERS }, options.connections, options.smoke)
    await checkOnce([...plan.list, plan.storm.victim, plan.storm.storm], manyTokens)
    log(`tokens obtained, items and ${MANY_USERS} users seeded, every scenario answers 2xx once`)

    const samples = await runRounds({ scenarios: plan.list, storm: plan.storm, ...options, pinning, log })

    const rss = peakRssMiB(ours.pid)
    const total = async (authorization: string): Promise<string> => {
      const res = await call(ours.base, 'GET', '/items?limit=1', { headers: { authorization } })
      return String((JSON.parse(res.body) as { total?: unknown }).total)
    }
    const itemsNote = `Items at the end: ${await total(client)} of bob's, ${await total(admin)} in all.`
    const serverOutput = ours.output().trim()
    const shutdowns: string[] = []
    for (const server of Object.values(servers)) shutdowns.push(await stopServer(server))

    const rows: Row[] = [...plan.list, plan.storm.victim, plan.storm.storm].map(({ spec }) => summarize(spec, samples.get(spec.key) ?? []))
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
      'Our rows run at LOG_LEVEL=warn (no request logs) but the one marked LOG_LEVEL=info, a second server process on the same database ' +
        'that writes its access lines to a pipe the harness reads. The row marked METRICS_PORT set is a third server process ' +
        'on the same database, at LOG_LEVEL=warn, with metrics on (GET /metrics answered on its port before the run). ' +
        'The peers are in bench/peers/, logging off. ' +
        'Every server is pinned to the same CPU.',
      `The ${MANY_USERS} users are admins seeded into the database, each with one token signed with the server's key and claims; ` +
        'the load generator sends them in turn over all connections, so the verified-token map (10,000 entries) never holds the next one.',
      'GET /items reads as bob (client, own items); POST /items writes as johndoe (admin); /token logs in johndoe.',
      itemsNote,
      'The /token rows count 503 + Retry-After (load shedding, by design) apart from errors; their p50/p99 include those fast 503s.',
      ...shutdowns,
      ...(serverOutput === ''
        ? []
        : [`The server wrote ${serverOutput.split('\n').length} line(s) at LOG_LEVEL=warn; ` +
          `the last: \`${serverOutput.split('\n').pop()!.slice(0, 300)}\``]),
      ...(options.smoke ? ['Smoke run: too short to measure anything; it only shows the harness works.'] : [])
    ]
    info.load = `${info.load} before, ${busyness(cpuPressure())} after (this run's own load included)`
    const text = markdown({ rows, verdictList, peakRssMiB: rss, machine: info, settings: options, notes })

    process.stdout.write(`\n${info.cpuModel}, ${info.cores} cores, Node ${info.node}; ${info.load}\n\n${table(rows)}\n\n` +
      `Peak server RSS: ${rss === undefined ? 'unknown' : `${rss.toFixed(1)} MiB`}\n\n`)
    for (const verdict of verdictList) process.stdout.write(`${verdictLine(verdict)}\n`)
    await writeFile(`${options.out}.tmp`, text)
    await rename(`${options.out}.tmp`, options.out)
    log(`servers stopped; results written to ${options.out}`)
  } catch (err) {
    for (const server of Object.values(servers)) {
      const state = server.child.exitCode ?? server.child.signalCode
      const status = state === null ? 'is running' : `exited (${state})`
      process.stderr.write(`bench: ${server.name} ${status}; its last output:\n${server.output()}\n`)
    }
    throw err
  } finally {
    for (const server of Object.values(servers)) if (isRunning(server)) server.child.kill('SIGKILL')
    killChildren()
    await rm(folder, { recursive: true, force: true })
  }
}

// A closed pipe (`npm run bench | head`) must not abort the run before it cleans up and writes results.md.
process.stdout.on('error', () => {})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren()
    if (tempFolder !== undefined) rmSync(tempFolder, { recursive: true, force: true })
    process.exit(130)
  })
}

main().catch((err: unknown) => {
  const detail = err instanceof HarnessError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
  process.stderr.write(`bench: ${detail}\n`)
  process.exitCode = 1
})
