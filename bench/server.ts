// Starting and stopping a server process for a measurement: ours (dist/src/main.cjs, as `npm start`
// runs it) or a peer (bench/peers/). Exported for other harnesses (bench/soak.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { HarnessError } from './harness-error.js'
import { freePort, nodeCommand, tail, track } from './processes.js'

/** Generous: on this machine shared with other work (load average 13 on 2 cores), our server once took over 15 s to answer. */
const STARTUP_TIMEOUT_MS = 30_000
const SHUTDOWN_TIMEOUT_MS = 12_000

export interface Server {
  /** What the report calls it. */
  name: string
  child: ChildProcess
  pid: number
  base: string
  env: NodeJS.ProcessEnv
  /** The last 16 kB it wrote to stdout and stderr. */
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export interface StartOptions {
  name: string
  /** The script node runs. */
  script: string
  /** Its environment; HOST and PORT are added. */
  env: NodeJS.ProcessEnv
  /** Node's flags before the script. */
  nodeFlags?: readonly string[]
  /** The CPU to pin it to (taskset), if any. */
  cpu?: number
  /** Answered by the server once it is up: any answer below 500 to this GET counts (default /health, 200 only). */
  readyPath?: string
}

/** Starts `node <script>` on a free port of 127.0.0.1 and resolves once it answers. */
export async function startServer ({ name, script, env, nodeFlags = [], cpu, readyPath }: StartOptions): Promise<Server> {
  if (!existsSync(script)) throw new HarnessError(`${script} is missing: run \`npm ci\` or \`npm run build\` first`)
  const port = await freePort()
  const fullEnv = { ...env, HOST: '127.0.0.1', PORT: String(port) }
  const [command, args] = nodeCommand(cpu, [...nodeFlags, script])
  const child = track(spawn(command, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] }))
  const output = tail(16_384)
  child.stdout?.on('data', output.push)
  child.stderr?.on('data', output.push)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true))
    child.once('error', () => resolve(false))
  })
  if (!spawned || child.pid === undefined) throw new HarnessError(`could not start ${command}`)
  const server: Server = { name, child, pid: child.pid, base: `http://127.0.0.1:${port}`, env: fullEnv, output: output.text, exited }

  const path = readyPath ?? '/health'
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (Date.now() < deadline && isRunning(server)) {
    try {
      const res = await fetch(`${server.base}${path}`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (readyPath === undefined ? res.status === 200 : res.status < 500) return server
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  const why = isRunning(server) ? '' : ' (it exited)'
  throw new HarnessError(`${name} did not answer GET ${path} within ${STARTUP_TIMEOUT_MS} ms${why}:\n${output.text()}`)
}

/** SIGTERM, then SIGKILL after 12 s; says what happened, for the report. */
export async function stopServer (server: Server): Promise<string> {
  const { child } = server
  if (!isRunning(server)) return `${server.name} had already exited (${child.exitCode ?? child.signalCode})`
  const started = Date.now()
  child.kill('SIGTERM')
  // Unreferenced, so a prompt exit does not leave this process waiting for the timer.
  const outcome = await Promise.race([server.exited, sleep(SHUTDOWN_TIMEOUT_MS, undefined, { ref: false })])
  if (outcome === undefined) {
    child.kill('SIGKILL')
    await server.exited
    return `${server.name} did not exit within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM and was killed`
  }
  return `${server.name} exited with ${outcome.code ?? outcome.signal} ${Date.now() - started} ms after SIGTERM`
}

export function isRunning (server: Server): boolean {
  return server.child.exitCode === null && server.child.signalCode === null
}

// Configuration the benchmark fixes whatever the caller's shell says (API.md "Running").
const SERVER_VARIABLES = ['HOST', 'PORT', 'DATABASE_PATH', 'DATABASE_URL', 'JWT_SECRET', 'JWT_PRIVATE_KEY_FILE', 'JWT_PREVIOUS_PUBLIC_KEYS',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'DEMO_USERS', 'NODE_ENV', 'LOGIN_MAX_FAILURES',
  'LOGIN_WINDOW', 'TOKEN_RATE_LIMIT', 'LOG_LEVEL', 'CORS_ORIGINS', 'METRICS_PORT', 'TRUST_PROXY']

/** A fresh HS256 key for one run, shared by our servers and the @fastify/jwt peer. */
export function benchSecret (): string {
  return randomBytes(32).toString('base64url')
}

/**
 * The environment our server runs with in the benchmark: the caller's shell, less every setting of
 * ours, plus these. Issuer and audience are fixed so that every server of the run accepts the same tokens.
 */
export function ourServerEnv ({ databasePath, secret, logLevel }: { databasePath: string, secret: string, logLevel: string }):
NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of SERVER_VARIABLES) delete env[name]
  return {
    ...env,
    DATABASE_PATH: databasePath,
    JWT_SECRET: secret,
    JWT_ISSUER: 'http://bench.invalid',
    JWT_AUDIENCE: 'http://bench.invalid',
    DEMO_USERS: 'true',
    LOG_LEVEL: logLevel,
    TOKEN_RATE_LIMIT: '0',
    // The harness is the proxy: the login storm names its many clients in X-Forwarded-For (bench/scenarios.ts).
    TRUST_PROXY: '127.0.0.1',
    LOGIN_MAX_FAILURES: '1000000000',
    // The tokens obtained at the start must outlive a long run (BENCH_DURATION=60 is over 20 minutes).
    ACCESS_TOKEN_TTL: '86400',
    // As `npm start` runs it: glibc serves argon2's 19 MiB buffers with mmap and returns them, instead of
    // keeping one arena of them per libuv thread.
    MALLOC_MMAP_THRESHOLD_: '1048576'
  }
}
