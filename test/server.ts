import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { TEST_SECRET } from './helper.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  /** The parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>
  stderr: () => string
  /** Resolves with the first log line from index `from` on (past or future) that matches. */
  waitForLog: (match: (line: Record<string, unknown>) => boolean, from?: number) => Promise<Record<string, unknown>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Runs src/server.ts in its own process, as `npm start` would run the build, through tsx (no build step). */
export function startServer (env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    // Not tap's NODE_OPTIONS, and no coverage of the child: tsx maps its lines differently from tap's loader,
    // which skewed the merged report. What the child runs is covered in-process by the other tests.
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: '',
      _TAPJS_PROCESSINFO_COVERAGE_: '0',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, unknown>> = []
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean, resolve: (line: Record<string, unknown>) => void }> = []
  let buffered = ''
  let errors = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>
      buffered = buffered.slice(newline + 1)
      logs.push(line)
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { errors += chunk })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  return {
    child,
    logs,
    stderr: () => errors,
    exited,
    async waitForLog (match, from = 0) {
      const seen = logs.slice(from).find(match)
      if (seen !== undefined) return seen
      return await Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ match, resolve })),
        exited.then(({ code }) => { throw new Error(`server exited (${String(code)}) first: ${errors}`) })
      ])
    }
  }
}

/** Starts the server and resolves with its base URL once it listens. */
export async function listening (server: ServerProcess): Promise<string> {
  const line = await server.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'))
  return (line.msg as string).replace('Server listening at ', '')
}
