import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { TEST_SECRET } from '../helper.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
// The compiled server and command line, as `npm start` and `secure-api` run them (`npm test` builds them first).
const LAUNCHER = join(ROOT, 'dist', 'src', 'main.cjs')
const CLI = join(ROOT, 'dist', 'src', 'cli.js')

/** What every instance of a cluster shares: one key, one issuer and audience (API.md "Several instances"). */
export const CLUSTER_ENV = {
  JWT_SECRET: TEST_SECRET,
  JWT_ISSUER: 'http://api.test',
  JWT_AUDIENCE: 'http://api.test',
  DEMO_USERS: 'true',
  // Each test picks the client's address with X-Forwarded-For, so that budgets do not mix.
  TRUST_PROXY: '127.0.0.1'
}

export interface Instance {
  base: string
  child: ChildProcess
  /** Lines the process logged (pino JSON). */
  logs: Array<Record<string, unknown>>
}

// tap adds its loader to a child's NODE_OPTIONS; the server runs as `npm start` runs it, without it.
function childEnv (env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env }
}

/** Starts one server process on a free port; killed when `t` ends. */
export async function startInstance (t: Test, env: Record<string, string>): Promise<Instance> {
  // A dist/ built before the change feed would test the old server: say so rather than measure it.
  if (!existsSync(join(ROOT, 'dist', 'src', 'store', 'postgres', 'feed.js'))) {
    throw new Error('dist/ is missing or older than the change feed: run `npm run build` first')
  }
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, LAUNCHER], {
    env: childEnv({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...CLUSTER_ENV, ...env }),
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const kill = (): void => { child.kill('SIGKILL') }
  t.teardown(kill)
  // A test process ended by tap's timeout runs no teardown: its servers must not outlive it.
  process.once('exit', kill)
  const logs: Array<Record<string, unknown>> = []
  let buffered = ''
  let listening: (base: string) => void = () => {}
  const base = new Promise<string>((resolve) => { listening = resolve })
  child.stdout?.on('data', (chunk) => {
    buffered += String(chunk)
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const line of parts) {
      const entry = JSON.parse(line) as Record<string, unknown>
      logs.push(entry)
      const url = /^Server listening at (http:\S+)$/.exec(String(entry.msg))?.[1]
      if (url !== undefined) listening(url)
    }
  })
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`the server exited (${String(code)}) before listening`) })
  return { base: await Promise.race([base, exited]), child, logs }
}

export async function startInstances (t: Test, count: number, env: Record<string, string>): Promise<Instance[]> {
  // One after the other: the first migrates and seeds (three at once is test/src/store/postgres.test.ts's).
  const instances: Instance[] = []
  for (let i = 0; i < count; i++) instances.push(await startInstance(t, env))
  return instances
}

export interface Sent {
  status: number
  headers: Headers
  body: any
}

export interface SendOptions {
  token?: string
  form?: Record<string, string>
  json?: unknown
  /** The client's address, as a trusted proxy reports it. */
  client?: string
}

/** One HTTP request to an instance; the body parsed as JSON when it is. */
export async function send (base: string, method: string, path: string, { token, form, json, client }: SendOptions = {}): Promise<Sent> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (client !== undefined) headers['x-forwarded-for'] = client
  let body: string | undefined
  if (form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(form).toString()
  } else if (json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(json)
  }
  const res = await fetch(`${base}${path}`, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed }
}

/** The command line (`secure-api user ...`) on the same database. */
export async function cli (args: string[], env: Record<string, string>): Promise<void> {
  await promisify(execFile)('env', ['-u', 'NODE_OPTIONS', process.execPath, CLI, ...args], { env: childEnv({ ...CLUSTER_ENV, ...env }) })
}

/** The `q`-quantile (0..1) of `values`, nearest rank. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}
