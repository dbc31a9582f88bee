// `npm run bench` (issues 5, 11 and 13): starts the built server and two reference servers on a
// temporary database, and ours again on a throwaway PostgreSQL cluster where PostgreSQL is
// installed, drives them with autocannon from separate processes, prints the table and one verdict
// per target, and writes bench/results.md. Exits 0 whatever the verdicts; non-zero only when the
// harness itself breaks. Settings: bench/options.ts.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { call, login, manyUsersTokens, seedItems } from './api.js'
import { VERIFIED_TOKENS_KEPT } from '../plugins/auth.js'
import { HarnessError } from './harness-error.js'
import { BUSY_PRESSURE, busyness, cpuPressure, machine } from './machine.js'
import { parseOptions } from './options.js'
import { newCluster, postgresServerBin, type Cluster } from './postgres.js'
import { choosePinning, freePort, killChildren, peakRssMiB, pinSelf, type Pinning } from './processes.js'
import { measurePropagation, PROPAGATION_TRIALS } from './propagation.js'
import {
  markdown, propagationByKind, propagationVerdict, summarize, table, verdictLine, verdicts, type PropagationTrial, type Row
} from './report.js'
import { launchFlags } from './soak-report.js'
import { runRounds, type Scenario } from './rounds.js'
import { STORM_CLIENTS, scenarios, type Servers } from './scenarios.js'
import { benchSecret, isRunning, ourServerEnv, startServer, stopServer, type Server } from './server.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..')
const OUR_SERVER = join(ROOT, 'dist', 'src', 'main.cjs')
const NPM_START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
/** `npm start`'s node flags (README, "Load benchmark" and "Soak"); the harness sets the environment. */
const OUR_NODE_FLAGS = launchFlags(NPM_START)
const SEED_ITEMS = 50
/** Issue 13.3: more distinct tokens than the verified-token map in plugins/auth.ts keeps (VERIFIED_TOKENS_KEPT). */
const MANY_USERS = 20_000
/** Issue 11: server processes on one PostgreSQL database for the propagation trials, the measured one included. */
const PROPAGATION_INSTANCES = 3
/** --smoke measures nothing: two trials of each kind show the harness works. */
const SMOKE_PROPAGATION_TRIALS = 6

let tempFolder: string | undefined
let cluster: Cluster | undefined

type StartOurs = (logLevel: string, name: string, env?: NodeJS.ProcessEnv) => Promise<Server>

/** Fills `servers` as they start, so that a failure can still report on (and stop) those already up. */
async function startServers (servers: Partial<Servers>, ours: StartOurs, secret: string, pinning: Pinning, log: (line: string) => void):
Promise<Servers> {
  // One at a time: the first creates the database and its demo users; the second opens them.
  servers.ours = await ours('warn', 'the server')
  servers.oursSolo = await ours('warn', 'the server that serves GET /admin-only only')
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
  servers.bareHelmet = await peer('bare-helmet.js', 'bare Fastify with helmet\'s headers')
  servers.jwt = await peer('jwt.js', 'the @fastify/jwt peer')
  log(`servers answer: ours ${servers.ours.pid} (warn), ${servers.oursSolo.pid} (warn, /admin-only only), ${servers.oursInfo.pid} (info) ` +
    `and ${servers.oursMetrics.pid} (METRICS_PORT), ` +
    `peers ${servers.bare.pid}, ${servers.bareHelmet.pid} and ${servers.jwt.pid}`)
  return servers as Servers
}

/**
 * Issue 11: a throwaway PostgreSQL cluster, its processes on the load generators' CPU so that the
 * servers' CPU stays our node process's, and the database's URL; undefined where PostgreSQL is not installed.
 */
async function startPostgres (pinning: Pinning, log: (line: string) => void): Promise<{ url: string, version: string } | undefined> {
  const bin = postgresServerBin(process.env)
  if (bin === undefined) return undefined
  cluster = newCluster({ bin, port: await freePort(), cpu: pinning.load })
  try {
    await cluster.start()
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? (err as Error).message
    throw new HarnessError(`PostgreSQL from ${bin} did not start: ${detail.trim().slice(-500)}`)
  }
  const version = execFileSync(join(bin, 'pg_ctl'), ['--version'], { encoding: 'utf8' }).trim().replace(/^pg_ctl \(PostgreSQL\) /, '')
  log(`PostgreSQL ${version} started from ${bin}`)
  return { url: cluster.url('postgres'), version }
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
  // The propagation trials' other instances, stopped before the rounds.
  const extras: Server[] = []
  const running = (): Server[] => [...Object.values(servers), ...extras]
  const secret = benchSecret()
  const databasePath = join(folder, 'bench.db')
  const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`]
  const startOurs: StartOurs = async (logLevel, name, env = {}) => await startServer({
    name,
    script: OUR_SERVER,
    env: { ...ourServerEnv({ databasePath, secret, logLevel }), ...env },
    nodeFlags: [...profile, ...OUR_NODE_FLAGS],
    cpu: pinning.server
  })
  try {
    const { ours } = await startServers(servers, startOurs, secret, pinning, log)
    const postgres = await startPostgres(pinning, log)
    const pgEnv = postgres === undefined ? {} : { DATABASE_URL: postgres.url }
    if (postgres !== undefined) servers.oursPg = await startOurs('warn', 'the server on PostgreSQL', pgEnv)
    const admin = `Bearer ${await login(ours.base, 'johndoe', 'secret')}`
    const client = `Bearer ${await login(ours.base, 'bob', 'secret3')}`
    const pgAdmin = servers.oursPg === undefined ? undefined : `Bearer ${await login(servers.oursPg.base, 'johndoe', 'secret')}`
    await seedItems(ours.base, client, SEED_ITEMS)
    const manyTokens = await manyUsersTokens(ours.env, MANY_USERS)
    const manyTokensFile = join(folder, 'tokens.json')
    await writeFile(manyTokensFile, JSON.stringify(manyTokens))
    const credentials = { admin, client, manyTokensFile, manyUsers: MANY_USERS, pgAdmin }
    const plan = scenarios(servers as Servers, credentials, options.connections, options.smoke)
    await checkOnce([...plan.list, plan.storm.victim, plan.storm.storm], manyTokens)
    log(`tokens obtained, items and ${MANY_USERS} users seeded, every scenario answers 2xx once`)

    const shutdowns: string[] = []
    let propagation: PropagationTrial[] | undefined
    if (servers.oursPg !== undefined && pgAdmin !== undefined) {
      for (let i = 2; i <= PROPAGATION_INSTANCES; i++) {
        extras.push(await startOurs('warn', `the server on PostgreSQL, instance ${i}`, pgEnv))
      }
      const trials = options.smoke ? SMOKE_PROPAGATION_TRIALS : PROPAGATION_TRIALS
      const instances = [servers.oursPg, ...extras]
      log(`PostgreSQL instances answer: ${instances.map((server) => server.pid).join(', ')}; ${trials} propagation trials`)
      propagation = await measurePropagation(instances, pgAdmin, trials)
      for (const extra of extras) shutdowns.push(await stopServer(extra))
      log(propagationVerdict(propagation, PROPAGATION_INSTANCES).text)
    }

    const { samples, sideBySide } = await runRounds({
      scenarios: plan.list, storm: plan.storm, pairs: plan.pairs, ...options, pinning, log
    })

    const rss = peakRssMiB(ours.pid)
    const total = async (authorization: string): Promise<string> => {
      const res = await call(ours.base, 'GET', '/items?limit=1', { headers: { authorization } })
      return String((JSON.parse(res.body) as { total?: unknown }).total)
    }
    const itemsNote = `Items at the end: ${await total(client)} of bob's, ${await total(admin)} in all.`
    const serverOutput = ours.output().trim()
    for (const server of Object.values(servers)) shutdowns.push(await stopServer(server))

    const rows: Row[] = [...plan.list, plan.storm.victim, plan.storm.storm].map(({ spec }) => summarize(spec, samples.get(spec.key) ?? []))
    const verdictList = [
      ...verdicts(new Map(rows.map((row) => [row.spec.key, row])), rss, sideBySide),
      ...(propagation === undefined ? [] : [propagationVerdict(propagation, PROPAGATION_INSTANCES)])
    ]
    const pgSkipped = 'PostgreSQL is not installed (no initdb and pg_ctl in POSTGRESQL_BIN or /usr/lib/postgresql/N/bin): ' +
      'the PostgreSQL rows, their verdict and the propagation line are skipped.'
    const clientBound = rows.filter((row) => row.cpuPercent < 90).map((row) => `${row.spec.label} (${Math.round(row.cpuPercent)}%)`)
    const notes = [
      ...(postgres === undefined ? [pgSkipped] : []),
      ...(pressureBefore === undefined || pressureBefore <= BUSY_PRESSURE
        ? []
        : [`Other processes were competing for the CPUs before the run started (CPU pressure ${pressureBefore.toFixed(0)}% over the ` +
            'last minute, from /proc/pressure/cpu): req/s and latencies are lower and noisier than this machine gives when idle.']),
      ...(clientBound.length === 0
        ? []
        : [`The server used less than 90% of its CPU in: ${clientBound.join(', ')}. There the load generator, or other work on the ` +
            'machine, set the pace rather than the server; compare CPU µs/req for the cost of each path.']),
      'Our rows run at LOG_LEVEL=warn (no request logs) but the one marked LOG_LEVEL=info, a third server process on the same database ' +
        'that writes its access lines to a pipe the harness reads. The row marked METRICS_PORT set is a fourth server process ' +
        'on the same database, at LOG_LEVEL=warn, with metrics on (GET /metrics answered on its port before the run). ' +
        'These two serve GET /admin-only only, and so does the second process, at LOG_LEVEL=warn (the row "a process serving it only"): ' +
        'their verdicts compare them with it, so that what differs is the setting alone, not what else the process served. ' +
        `Our processes run with npm start's node flags (${OUR_NODE_FLAGS.join(' ')}), the peers with Node's defaults. ` +
        'The peers are in bench/peers/, logging off. ' +
        'Every server is pinned to the same CPU.',
      `The ${MANY_USERS} users are admins seeded into the database, each with one token signed with the server's key and claims; ` +
        `the load generator sends them in turn over all connections. The verified-token map holds ${VERIFIED_TOKENS_KEPT} of them and, ` +
        'full, keeps those while they are presented: the others run the signature check on every request.',
      'GET /items reads as bob (client, own items); POST /items writes as johndoe (admin); /token logs in johndoe.',
      `The login storm comes from ${STORM_CLIENTS} client addresses named in X-Forwarded-For (our servers run with ` +
        'TRUST_PROXY=127.0.0.1, the harness): each address holds a few hashing places, so its logins wait for hashing ' +
        'rather than being refused at once.',
      ...(postgres === undefined
        ? []
        : ['The rows marked (PostgreSQL) run on a fourth server process of ours, at LOG_LEVEL=warn with the same flags, with ' +
            `DATABASE_URL set to a throwaway PostgreSQL ${postgres.version} cluster that the harness started on 127.0.0.1 ` +
            '(fsync, synchronous_commit and full_page_writes off) and removes at the end. PostgreSQL\'s processes are pinned to the ' +
            'load generators\' CPU, so the servers\' CPU holds our node process alone; the server columns count that process only, ' +
            'not the work PostgreSQL does for it (part of what a write costs). Their verdict and information line compare ' +
            'CPU µs/req with the same request on SQLite, round by round.',
          `Propagation (issue 11): ${PROPAGATION_INSTANCES} server processes on that database (the PostgreSQL rows' one and ` +
            `${PROPAGATION_INSTANCES - 1} more, same settings, started for the trials and stopped before the rounds). In each trial ` +
            'a user signs in on one instance, the others accept its token, then on that instance the user is disabled ' +
            '(PATCH /users/{username}), its roles changed, or its login revoked (POST /revoke of the refresh token), each kind ' +
            'in turn through each instance in turn. A trial\'s time runs from the change\'s answer until every other instance ' +
            'answers 401 to GET /users/me with the old token, asked back to back from the harness. ' +
            `p50 / p99 / max by kind, in ms: ${propagationByKind(propagation ?? [])}.`,
          'On 2 cores several instances cannot show throughput scaling: they would share the servers\' one CPU. ' +
            'So the report gives CPU µs per request of one instance in PostgreSQL mode rather than a req/s figure for several.']),
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
    const text = markdown({ rows, pairs: sideBySide, verdictList, peakRssMiB: rss, machine: info, settings: options, notes })

    process.stdout.write(`\n${info.cpuModel}, ${info.cores} cores, Node ${info.node}; ${info.load}\n\n${table(rows)}\n\n` +
      `Peak server RSS: ${rss === undefined ? 'unknown' : `${rss.toFixed(1)} MiB`}\n\n`)
    for (const verdict of verdictList) process.stdout.write(`${verdictLine(verdict)}\n`)
    if (postgres === undefined) process.stdout.write(`\n${pgSkipped}\n`)
    await writeFile(`${options.out}.tmp`, text)
    await rename(`${options.out}.tmp`, options.out)
    log(`servers stopped; results written to ${options.out}`)
  } catch (err) {
    for (const server of running()) {
      const state = server.child.exitCode ?? server.child.signalCode
      const status = state === null ? 'is running' : `exited (${state})`
      process.stderr.write(`bench: ${server.name} ${status}; its last output:\n${server.output()}\n`)
    }
    throw err
  } finally {
    for (const server of running()) if (isRunning(server)) server.child.kill('SIGKILL')
    killChildren()
    await cluster?.remove()
    await rm(folder, { recursive: true, force: true })
  }
}

// A closed pipe (`npm run bench | head`) must not abort the run before it cleans up and writes results.md.
process.stdout.on('error', () => {})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren()
    cluster?.removeSync()
    if (tempFolder !== undefined) rmSync(tempFolder, { recursive: true, force: true })
    process.exit(130)
  })
}
// Whatever ends this process, no PostgreSQL server outlives it (removeSync does nothing after remove()).
process.once('exit', () => { cluster?.removeSync() })

main().catch((err: unknown) => {
  const detail = err instanceof HarnessError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
  process.stderr.write(`bench: ${detail}\n`)
  process.exitCode = 1
})
