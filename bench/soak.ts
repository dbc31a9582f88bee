// `npm run soak` (issue 12, "Reliability under a long soak"): starts the built server as `npm start`
// does, drives a bounded mixed load (fresh logins, refreshes, revocations, item writes and reads,
// bad input) at a fixed rate, samples the server's RSS, and prints the curve and the slope of its
// second half. Measures memory, not speed: the machine may be shared. Exits 0 whatever the verdict;
// non-zero only when the harness itself fails.
//
//   SOAK_DURATION  seconds of load (600)
//   SOAK_RATE      requests per second (500)
//   SOAK_SAMPLE    seconds between RSS samples (5)
//   SOAK_NODE_FLAGS more node flags for the server, for experiments (`--trace-gc`, `--heapsnapshot-signal=SIGUSR2`)
//   SOAK_SERVER_LOG a file to copy the server's output to (its logs, and --trace-gc lines)
//   --out <path>   also write the curve as markdown there
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, type } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from './processes.js'
import { RSS_LIMIT_MB, SLOPE_LIMIT_MB_PER_MIN, curve, lastHalfSlope, startCommand, type Sample } from './soak-report.js'

class HarnessError extends Error {}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const START = startCommand((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start)
const SERVER = join(ROOT, START.entry)
/** Requests in flight at most; a tick that would pass it skips its requests (counted as "skipped"). */
const MAX_IN_FLIGHT = 256
const TICK_MS = 20

function setting (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new HarnessError(`${name}: expected a number > 0, got "${raw}"`)
  return value
}

// --- the server -------------------------------------------------------------------------------

const children = new Set<ChildProcess>()

function rssMb (pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? undefined : Number(match[1]) / 1024
  } catch {
    return undefined
  }
}

interface Server { child: ChildProcess, pid: number, base: string, logLines: () => number, pinned: string }

/** The configuration variables of API.md "Running" that the soak sets itself. */
const SERVER_VARIABLES = ['HOST', 'PORT', 'DATABASE_PATH', 'DATABASE_URL', 'JWT_SECRET', 'JWT_PRIVATE_KEY_FILE', 'JWT_PREVIOUS_PUBLIC_KEYS',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'DEMO_USERS', 'NODE_ENV', 'LOGIN_MAX_FAILURES',
  'LOGIN_WINDOW', 'TOKEN_RATE_LIMIT', 'LOG_LEVEL', 'CORS_ORIGINS', 'TRUST_PROXY', 'METRICS_PORT', 'UV_THREADPOOL_SIZE', 'NODE_OPTIONS']

async function startServer (databasePath: string): Promise<Server> {
  if (!existsSync(SERVER)) throw new HarnessError(`${SERVER} is missing: run \`npm run build\` first`)
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of SERVER_VARIABLES) delete env[name]
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_PATH: databasePath,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DEMO_USERS: 'true',
    // The load comes from many addresses through a "proxy" (this process), so the rate limit and
    // the login throttle each hold many keys, as they would for real clients.
    TRUST_PROXY: '127.0.0.1',
    // npm start's own variables (glibc's malloc settings).
    ...START.env
  })
  // The server on one CPU, this process on another, as bench/run.ts does.
  const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  const command = hasTaskset ? 'taskset' : process.execPath
  const extraFlags = (process.env.SOAK_NODE_FLAGS ?? '').split(' ').filter(Boolean)
  const args = [...START.nodeFlags, ...extraFlags, SERVER]
  const child = spawn(command, hasTaskset ? ['-c', '0', process.execPath, ...args] : args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  if (hasTaskset && cpus().length > 1) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' })
  children.add(child)
  child.once('exit', () => children.delete(child))
  // The logs (info level, one line per request, as `npm start` writes them) are read and counted:
  // a reader that fell behind would hold the server's writes.
  let lines = 0
  child.stdout?.on('data', (chunk: Buffer) => { for (const byte of chunk) if (byte === 10) lines++ })
  const logFile = process.env.SOAK_SERVER_LOG
  if (logFile !== undefined && logFile !== '') child.stdout?.pipe(createWriteStream(logFile))
  let errors = ''
  child.stderr?.on('data', (chunk: Buffer) => { errors = (errors + chunk.toString()).slice(-4096) })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200 && child.pid !== undefined) {
        return {
          child,
          pid: child.pid,
          base,
          logLines: () => lines,
          pinned: hasTaskset ? 'server on CPU 0, load on CPU 1 (taskset)' : 'unpinned'
        }
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new HarnessError(`the server did not answer GET /health within 60 s:\n${errors}`)
}

// --- the load ---------------------------------------------------------------------------------

const FORM = 'application/x-www-form-urlencoded'

interface Answer { status: number, body: string }

function randomAddress (): string {
  // One in four an IPv6 client; the rest from a /16 of IPv4 clients.
  return randomInt(4) === 0
    ? `2001:db8:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}::${randomInt(65536).toString(16)}`
    : `10.${randomInt(4)}.${randomInt(256)}.${randomInt(256)}`
}

/** One login (refresh token family) as the client holds it. */
interface Login { access: string, refresh: string }

class Load {
  readonly statuses = new Map<string, number>()
  inFlight = 0
  skipped = 0
  failures = 0
  /** Live logins; a revoked one leaves the list, so its tokens are no longer sent as if valid. */
  private readonly logins: Login[] = []
  /** Refresh tokens already rotated, with their login: presenting one again revokes that login. */
  private readonly used: Array<{ token: string, login: Login }> = []
  private readonly itemIds: Array<{ login: Login, id: number }> = []
  private readonly refreshing = new Set<Login>()

  constructor (private readonly base: string, private readonly users: ReadonlyArray<{ username: string, password: string }>) {}

  async request (
    label: string,
    method: string,
    path: string,
    init: {
      token?: string
      form?: Record<string, string>
      json?: unknown
      raw?: string
      headers?: Record<string, string>
    } = {}
  ): Promise<Answer | undefined> {
    const headers: Record<string, string> = { 'x-forwarded-for': randomAddress(), ...init.headers }
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
    let body: string | undefined
    if (init.form !== undefined) {
      headers['content-type'] = FORM
      body = new URLSearchParams(init.form).toString()
    } else if (init.json !== undefined || init.raw !== undefined) {
      headers['content-type'] = 'application/json'
      body = init.raw ?? JSON.stringify(init.json)
    }
    this.inFlight++
    try {
      const res = await fetch(`${this.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) })
      const text = await res.text()
      const key = `${label} ${res.status}`
      this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1)
      return { status: res.status, body: text }
    } catch {
      this.failures++
      return undefined
    } finally {
      this.inFlight--
    }
  }

  private pick<T> (list: readonly T[]): T | undefined {
    return list.length === 0 ? undefined : list[randomInt(list.length)]
  }

  private keep<T> (list: T[], value: T, max: number): void {
    list.push(value)
    if (list.length > max) list.splice(0, list.length - max)
  }

  private drop (login: Login): void {
    const index = this.logins.indexOf(login)
    if (index !== -1) this.logins.splice(index, 1)
  }

  private tokens (answer: Answer | undefined): Login | undefined {
    if (answer?.status !== 200) return undefined
    const { access_token: access, refresh_token: refresh } = JSON.parse(answer.body) as { access_token: string, refresh_token: string }
    return { access, refresh }
  }

  async login (): Promise<void> {
    const user = this.pick(this.users) as { username: string, password: string }
    const login = this.tokens(await this.request('login', 'POST', '/token', { form: { grant_type: 'password', ...user } }))
    // The client keeps its 200 most recent logins; older ones are simply abandoned, as clients do.
    if (login !== undefined) this.keep(this.logins, login, 200)
  }

  async badLogin (): Promise<void> {
    // Unknown users and wrong passwords, each from its own address: new throttle keys.
    const username = randomInt(2) === 0
      ? `nobody-${randomBytes(6).toString('hex')}`
      : (this.pick(this.users) as { username: string }).username
    await this.request('bad login', 'POST', '/token', { form: { username, password: randomBytes(9).toString('base64') } })
  }

  async refresh (): Promise<void> {
    const login = this.pick(this.logins)
    if (login === undefined) return await this.login()
    // One refresh per login at a time, as a real client does: two would count as reuse.
    if (this.refreshing.has(login)) return await this.listItems()
    this.refreshing.add(login)
    const presented = login.refresh
    try {
      const form = { grant_type: 'refresh_token', refresh_token: presented }
      const next = this.tokens(await this.request('refresh', 'POST', '/token', { form }))
      if (next === undefined) return this.drop(login)
      Object.assign(login, next)
      this.keep(this.used, { token: presented, login }, 100)
    } finally {
      this.refreshing.delete(login)
    }
  }

  async reuse (): Promise<void> {
    // A used refresh token presented again revokes its login (reuse detection).
    const used = this.pick(this.used)
    if (used === undefined) return
    this.drop(used.login)
    await this.request('reuse', 'POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: used.token } })
  }

  async revoke (): Promise<void> {
    const login = this.pick(this.logins)
    if (login === undefined) return
    this.drop(login)
    await this.request('revoke', 'POST', '/revoke', { form: { token: randomInt(2) === 0 ? login.refresh : login.access } })
  }

  async listItems (): Promise<void> {
    const token = this.pick(this.logins)?.access
    const query = randomInt(3) === 0 ? `?limit=${1 + randomInt(100)}&offset=${randomInt(500)}` : ''
    await this.request('list', 'GET', `/items${query}`, { token })
  }

  async createItem (): Promise<void> {
    const login = this.pick(this.logins)
    if (login === undefined) return
    const json = { name: `soak ${randomBytes(4).toString('hex')}`, description: 'x'.repeat(randomInt(200)) }
    const answer = await this.request('create', 'POST', '/items', { token: login.access, json })
    if (answer?.status === 201) this.keep(this.itemIds, { login, id: (JSON.parse(answer.body) as { id: number }).id }, 500)
  }

  async deleteItem (): Promise<void> {
    const index = this.itemIds.length === 0 ? -1 : randomInt(this.itemIds.length)
    if (index === -1) return
    const [{ login, id }] = this.itemIds.splice(index, 1) as [{ login: Login, id: number }]
    await this.request('delete', 'DELETE', `/items/${id}`, { token: login.access })
  }

  async me (): Promise<void> {
    await this.request('me', 'GET', randomInt(2) === 0 ? '/users/me' : '/admin-only', { token: this.pick(this.logins)?.access })
  }

  async fuzz (): Promise<void> {
    const token = this.pick(this.logins)?.access ?? ''
    switch (randomInt(8)) {
      case 0: // A forged token: right shape, random signature.
      {
        const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${randomBytes(32).toString('base64url')}`
        await this.request('fuzz', 'GET', '/items', { token: forged })
        return
      }
      case 1: // Random garbage as a token.
        await this.request('fuzz', 'GET', '/users/me', { token: randomBytes(randomInt(1, 600)).toString('base64url') })
        return
      case 2: // Out-of-range paging.
      {
        const offset = ['1e21', 'Infinity', '-1', 'x', '9223372036854775808'][randomInt(5)] as string
        await this.request('fuzz', 'GET', `/items?offset=${offset}`, { token })
        return
      }
      case 3: // Broken JSON and unknown fields.
      {
        const raw = randomInt(2) === 0 ? '{"name":' : `{"name":"a","${randomBytes(4).toString('hex')}":1}`
        await this.request('fuzz', 'POST', '/items', { token, raw })
        return
      }
      case 4: // Unknown paths, with random segments (router and 404 logs).
        await this.request('fuzz', 'GET', `/${randomBytes(8).toString('hex')}/${randomInt(1e9)}`)
        return
      case 5: // A malformed /token form and an unknown grant.
        await this.request('fuzz', 'POST', '/token', {
          form: { grant_type: randomBytes(5).toString('hex'), username: 'x'.repeat(randomInt(300)) }
        })
        return
      case 6: // JSON at /token (415) and a huge header.
        await this.request('fuzz', 'POST', '/token', { json: { username: 'bob' }, headers: { 'x-padding': 'p'.repeat(randomInt(8000)) } })
        return
      default: // Random item ids.
        await this.request('fuzz', 'GET', `/items/${randomInt(2 ** 31)}`, { token })
    }
  }

  async health (): Promise<void> {
    await this.request('health', 'GET', '/health')
  }

  /** One request of the mix: weights per 1,000 requests. */
  async one (): Promise<void> {
    const roll = randomInt(1000)
    // About 5 fresh logins and 3 failed ones a second at 500 req/s: argon2 costs ~32 ms each.
    if (roll < 10) return await this.login()
    if (roll < 16) return await this.badLogin()
    if (roll < 70) return await this.refresh()
    if (roll < 73) return await this.reuse()
    if (roll < 76) return await this.revoke()
    if (roll < 376) return await this.listItems()
    if (roll < 526) return await this.createItem()
    if (roll < 576) return await this.deleteItem()
    if (roll < 726) return await this.me()
    if (roll < 976) return await this.fuzz()
    return await this.health()
  }
}

// --- main -------------------------------------------------------------------------------------

/** A set-up request, tried again while the server sheds password hashing (503, Retry-After). */
async function retried (url: string, init: RequestInit, expected: number): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const res = await fetch(url, init)
    const body = await res.text()
    if (res.status === expected) return body
    if (res.status !== 503) throw new HarnessError(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${body.slice(0, 200)}`)
    await sleep(1000)
  }
  throw new HarnessError(`${init.method ?? 'GET'} ${url} answered 503 thirty times`)
}

function parseOut (argv: readonly string[]): string | undefined {
  if (argv.length === 0) return undefined
  if (argv[0] === '--out' && argv[1] !== undefined && argv.length === 2) return resolve(argv[1])
  throw new HarnessError(`unknown arguments "${argv.join(' ')}" (known: --out <path>)`)
}

async function main (): Promise<void> {
  const out = parseOut(process.argv.slice(2))
  const duration = setting('SOAK_DURATION', 600)
  const rate = setting('SOAK_RATE', 500)
  const sampleEvery = setting('SOAK_SAMPLE', 5)
  const folder = await mkdtemp(join(tmpdir(), 'secure-api-soak-'))
  const server = await startServer(join(folder, 'soak.db'))
  try {
    // A few clients of our own besides the demo users, so logins spread over several users.
    const admin = await retried(`${server.base}/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'username=johndoe&password=secret'
    }, 200)
    const adminToken = (JSON.parse(admin) as { access_token: string }).access_token
    const users = [{ username: 'johndoe', password: 'secret' }, { username: 'bob', password: 'secret3' }]
    for (let i = 0; i < 8; i++) {
      const user = { username: `soak-user-${i}`, password: `soak-password-${i}` }
      await retried(`${server.base}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ ...user, roles: ['client'] })
      }, 201)
      users.push(user)
    }
    const load = new Load(server.base, users)
    for (let i = 0; i < 10; i++) await load.login()

    const samples: Sample[] = []
    const started = Date.now()
    let sent = 0
    const sample = (): void => {
      const rss = rssMb(server.pid)
      if (rss === undefined) throw new HarnessError(`the server exited (${String(server.child.exitCode ?? server.child.signalCode)})`)
      const seconds = (Date.now() - started) / 1000
      samples.push({ seconds, rssMb: rss })
      process.stdout.write(`${seconds.toFixed(0).padStart(5)} s  RSS ${rss.toFixed(1).padStart(6)} MB  sent ${sent}  ` +
        `in flight ${load.inFlight}  skipped ${load.skipped}  failed ${load.failures}  log lines ${server.logLines()}\n`)
    }
    sample()
    let nextSample = started + sampleEvery * 1000
    // Open loop: each tick sends what the rate owes since the start, whatever the answers' pace.
    while (Date.now() - started < duration * 1000) {
      const owed = Math.floor((Date.now() - started) / 1000 * rate) - sent - load.skipped
      for (let i = 0; i < owed; i++) {
        if (load.inFlight >= MAX_IN_FLIGHT) {
          load.skipped++
          continue
        }
        sent++
        load.one()
      }
      if (Date.now() >= nextSample) {
        sample()
        nextSample += sampleEvery * 1000
      }
      await sleep(TICK_MS)
    }
    while (load.inFlight > 0) await sleep(50)
    sample()

    const slope = lastHalfSlope(samples)
    const peak = Math.max(...samples.map((s) => s.rssMb))
    const last = samples.at(-1) as Sample
    const loads = loadavg().map((l) => l.toFixed(2)).join(' ')
    const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'} · ${cpus().length} cores · Node ${process.version} · ` +
      `${type()} ${release()} · load ${loads} at the end · ${server.pinned}`
    const statuses = [...load.statuses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, count]) => `${key}: ${count}`)
      .join(', ')
    const pass = peak < RSS_LIMIT_MB && slope <= SLOPE_LIMIT_MB_PER_MIN
    const verdict = `${pass ? 'PASS' : 'FAIL'}  RSS peak ${peak.toFixed(1)} MB (< ${RSS_LIMIT_MB}), last ${last.rssMb.toFixed(1)} MB, ` +
      `slope of the last half ${slope.toFixed(2)} MB/min (<= ${SLOPE_LIMIT_MB_PER_MIN})`
    const report = [
      `Soak of ${duration} s at ${rate} requests/s: ${sent} sent, ${load.skipped} skipped (over ${MAX_IN_FLIGHT} in flight), ` +
        `${load.failures} failed`,
      machine,
      `answers: ${statuses}`,
      '',
      curve(samples),
      '',
      verdict
    ].join('\n')
    process.stdout.write(`\n${report}\n`)
    if (out !== undefined) await writeFile(out, `${new Date().toISOString()}\n\n\`\`\`\n${report}\n\`\`\`\n`)
  } finally {
    server.child.kill('SIGTERM')
    await sleep(500)
    await rm(folder, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof HarnessError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  for (const child of children) child.kill('SIGKILL')
  process.exit(1)
})
