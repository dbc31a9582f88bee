import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { assertBuilt } from '../dist.js'
import { TEST_SECRET } from '../helper.js'

// `npm start` runs the compiled launcher (`npm test` builds it first); tsx would load ES modules, and so
// start libuv's pool, before the launcher could size it.
const LAUNCHER = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', 'src', 'main.cjs')

interface Started { hashing: Record<string, unknown>, threads: number }

/** The launcher on a free port of 127.0.0.1, in-memory, at LOG_LEVEL=info, its stdout piped; killed when `t` ends. */
function spawnLauncher (t: Test, env: Record<string, string>): ChildProcessByStdio<null, Readable, null> {
  // tap adds its loader to a child's NODE_OPTIONS, and an --import loader would start the pool before
  // the launcher runs (as it would under `npm start` too), so the child runs without it.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, LAUNCHER], {
    env: {
      PATH: process.env.PATH ?? '',
      _TAPJS_PROCESSINFO_COVERAGE_: '0',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_PATH: ':memory:',
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      ...env
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  return child
}

/** Starts the launcher, logs in once (argon2 on the pool), and counts the process's threads. */
async function launch (t: Test, env: Record<string, string>): Promise<Started> {
  const child = spawnLauncher(t, env)
  const lines: Array<Record<string, unknown>> = []
  let buffered = ''
  let base: string | undefined
  for await (const chunk of child.stdout) {
    buffered += String(chunk)
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    lines.push(...parts.map((line) => JSON.parse(line) as Record<string, unknown>))
    base = lines.map((line) => /^Server listening at (http:\S+)$/.exec(String(line.msg))?.[1]).find((url) => url !== undefined)
    if (base !== undefined) break
  }
  const res = await fetch(`${base ?? ''}/token`, { method: 'POST', body: new URLSearchParams({ username: 'johndoe', password: 'secret' }) })
  t.equal(res.status, 200)
  const threads = readdirSync(`/proc/${child.pid ?? 0}/task`).length
  child.kill('SIGTERM')
  await once(child, 'exit')
  return { hashing: lines.find((line) => line.msg === 'password hashing on the thread pool') ?? {}, threads }
}

// Issue 5: argon2 runs on libuv's pool, which `npm start` sizes for it.
t.test('npm start sizes the thread pool for one hashing slot per core plus libuv\'s default 4', async (t) => {
  assertBuilt()
  const cores = availableParallelism()
  const sized = await launch(t, {})
  t.match(sized.hashing, { hashingSlots: cores, threadPoolSize: cores + 4 }, 'as logged')
  const single = await launch(t, { UV_THREADPOOL_SIZE: '1' })
  t.match(single.hashing, { hashingSlots: 1, threadPoolSize: 1 }, 'an operator\'s UV_THREADPOOL_SIZE is kept')
  t.equal(sized.threads - single.threads, cores + 4 - 1, 'the pool really has that many threads')
})

// Issue 13: `npm start` writes its log lines in buffered writes (src/server.ts): each within about
// 100 ms, and every one before the process exits.
t.test('npm start writes a request\'s access line soon after, and the buffered ones before it exits on SIGTERM', async (t) => {
  assertBuilt()
  const child = spawnLauncher(t, {})
  const lines: Array<Record<string, unknown>> = []
  let buffered = ''
  const seen = new Set<() => void>()
  child.stdout.on('data', (chunk) => {
    buffered += String(chunk)
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    lines.push(...parts.map((line) => JSON.parse(line) as Record<string, unknown>))
    for (const wake of seen) wake()
  })
  const line = async (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find(match)
      if (found !== undefined) return found
      await new Promise<void>((resolve) => { const wake = (): void => { seen.delete(wake); resolve() }; seen.add(wake) })
    }
  }
  const listening = await line((entry) => /^Server listening at http:/.test(String(entry.msg)))
  const base = String(listening.msg).replace('Server listening at ', '')
  const answered = await fetch(`${base}/health?first`)
  await answered.arrayBuffer()
  const sent = performance.now()
  await line((entry) => entry.url === '/health?first')
  // 100 ms at most by the destination's timer; the margin is for a busy machine.
  t.ok(performance.now() - sent < 1000, 'the access line came out without more lines to fill the buffer')
  const last = await fetch(`${base}/health?last`)
  await last.arrayBuffer()
  // At once: the line is still in the 4 kB buffer, whose timer has not run yet.
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0)
  t.ok(lines.some((entry) => entry.url === '/health?last'), 'the buffered access line was written before the exit')
  t.ok(lines.some((entry) => entry.msg === 'shutting down'))
})
