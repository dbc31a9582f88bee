// A throwaway PostgreSQL cluster: initdb into a temporary folder, pg_ctl on a given port of
// 127.0.0.1 with fsync off, and the folder removed at the end. The benchmark's PostgreSQL rows
// start one here, and so does test/postgres.ts, which adds tap's teardown and a database per test.
// No tap, no driver: test/setup/ (run by tsx before the build) reads postgresServerBin from here.
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

const holdsServer = (bin: string): boolean => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))

/** POSTGRESQL_BIN when it holds initdb and pg_ctl, else the newest /usr/lib/postgresql/N/bin (Debian's layout) that does. */
export function postgresServerBin (env: NodeJS.ProcessEnv): string | undefined {
  if (env.POSTGRESQL_BIN !== undefined) return holdsServer(env.POSTGRESQL_BIN) ? env.POSTGRESQL_BIN : undefined
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  return readdirSync(root).filter((version) => /^\d+$/.test(version)).sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin')).find(holdsServer)
}

export interface ClusterOptions {
  /** The folder holding initdb and pg_ctl (postgresServerBin). */
  bin: string
  /** A free port of 127.0.0.1. */
  port: number
  /** The CPU to pin PostgreSQL's processes to (taskset; its children inherit it), if any. */
  cpu?: number
}

export interface Cluster {
  /** The postgres:// URL of one of its databases (`postgres` exists from the start). */
  url (database: string): string
  /** initdb on the first call; then the server starts, on the same port and data each time. */
  start (): Promise<void>
  /** Stops the server as an operator would (`pg_ctl stop -m fast`: connections closed at once). */
  stop (): Promise<void>
  /** Stops the server (fast) if it runs and removes its folder; once only. */
  remove (): Promise<void>
  /** The same without waiting (`-m immediate`), for an exit or a signal handler. */
  removeSync (): void
}

/**
 * A cluster in a new temporary folder; nothing runs until start(). Register removeSync for exits
 * and signals before starting it. initdb refuses to run as root, so as root the cluster belongs to
 * the `postgres` user.
 */
export function newCluster ({ bin, port, cpu }: ClusterOptions): Cluster {
  const dir = mkdtempSync(join(tmpdir(), 'pg-'))
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  const command = (program: string, args: string[]): [string, string[]] => {
    const [file, fileArgs]: [string, string[]] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args]
    return cpu === undefined ? [file, fileArgs] : ['taskset', ['-c', String(cpu), file, ...fileArgs]]
  }
  const data = join(dir, 'data')
  let initialized = false
  let removed = false
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start () {
      if (!initialized) {
        await run(...command('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']))
        initialized = true
      }
      await run(...command('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off ` +
        '-c full_page_writes=off -c max_connections=200', 'start']))
    },
    async stop () {
      await run(...command('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']))
    },
    async remove () {
      if (removed) return
      removed = true
      if (initialized) await run(...command('pg_ctl', ['-D', data, '-m', 'fast', 'stop'])).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
    removeSync () {
      if (removed) return
      removed = true
      try {
        if (initialized) execFileSync(...command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' })
      } catch {}
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
