import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { TEST_SECRET } from '../helper.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * A folder laid out like the repository, outside it, so that its `.env` is the test's: package.json
 * copied, the sources copied (the dev loop watches them), dist/ and node_modules/ linked.
 */
function project (t: Test, dotenv?: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'secure-api-scripts-'))
  t.teardown(() => { rmSync(folder, { recursive: true, force: true }) })
  copyFileSync(join(ROOT, 'package.json'), join(folder, 'package.json'))
  for (const source of ['src', 'plugins', 'routes']) cpSync(join(ROOT, source), join(folder, source), { recursive: true })
  for (const linked of ['dist', 'node_modules']) symlinkSync(join(ROOT, linked), join(folder, linked))
  if (dotenv !== undefined) writeFileSync(join(folder, '.env'), dotenv)
  return folder
}

interface Running { output: () => string, listening: (count?: number) => Promise<string> }

/** `npm run <script>` in `folder`, in its own process group, which the teardown ends. */
function run (t: Test, folder: string, script: string, env: Record<string, string> = {}): Running {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: folder,
    detached: true,
    // Only what a shell would pass: no tap loader, no variable the .env sets.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { try { process.kill(-(child.pid ?? 0), 'SIGKILL') } catch {} })
  const exited = once(child, 'exit')
  let output = ''
  const changed: Array<() => void> = []
  const onData = (chunk: string): void => { output += chunk; for (const notify of changed.splice(0)) notify() }
  child.stdout.setEncoding('utf8').on('data', onData)
  child.stderr.setEncoding('utf8').on('data', onData)
  return {
    output: () => output,
    /** Resolves with the address of the `count`th "Server listening at" line. */
    async listening (count = 1) {
      for (;;) {
        const addresses = [...output.matchAll(/Server listening at (http:\/\/[\d.]+:\d+)/g)].map((m) => m[1] ?? '')
        if (addresses.length >= count) return addresses[count - 1] ?? ''
        await Promise.race([new Promise<void>((resolve) => changed.push(resolve)),
          exited.then(() => { throw new Error(`exited: ${output}`) })])
      }
    }
  }
}

const DOTENV = `# read by npm start and npm run dev
PORT=0
DATABASE_PATH=:memory:
JWT_SECRET=${TEST_SECRET}
JWT_ISSUER=https://from-dotenv.example
`

async function issuer (base: string): Promise<unknown> {
  const res = await fetch(`${base}/.well-known/oauth-authorization-server`)
  return ((await res.json()) as { issuer: unknown }).issuer
}

// Issue 14 "Dev loop": .env support for npm start, parsed by loadConfig(process.env) like any variable.
t.test('npm start reads .env from the project folder', async (t) => {
  const server = run(t, project(t, DOTENV), 'start')
  t.equal(await issuer(await server.listening()), 'https://from-dotenv.example')
  t.match(server.output(), /\{"level":30,.*"msg":"Server listening at /, 'JSON logs')
})

t.test('npm start without a .env starts all the same, with demo users', async (t) => {
  const server = run(t, project(t), 'start', { PORT: '0', DATABASE_PATH: ':memory:' })
  const base = await server.listening()
  t.equal(await issuer(base), 'http://127.0.0.1:0', 'the default issuer: http://HOST:PORT')
  const login = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ username: 'bob', password: 'secret3' }) })
  t.equal(login.status, 200)
})

t.test('a variable set in the environment wins over .env', async (t) => {
  const server = run(t, project(t, DOTENV), 'start', { JWT_ISSUER: 'https://from-environment.example' })
  t.equal(await issuer(await server.listening()), 'https://from-environment.example')
})

t.test('npm run dev reads .env, logs in pretty lines and restarts when a source file changes', async (t) => {
  const folder = project(t, DOTENV)
  const server = run(t, folder, 'dev')
  const first = await server.listening()
  t.equal(await issuer(first), 'https://from-dotenv.example')
  t.match(server.output(), /INFO \(\d+\): Server listening at /, 'pino-pretty')
  t.notMatch(server.output(), /"level":/, 'no JSON lines')
  appendFileSync(join(folder, 'routes', 'health.ts'), '// changed\n')
  const second = await server.listening(2)
  t.equal(await issuer(second), 'https://from-dotenv.example', 'serving again after the restart')
})
