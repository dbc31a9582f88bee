import { execFile, execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import type { Test } from 'tap'
import { postgresServerBin } from './setup/prerequisites.js'

const run = promisify(execFile)

/** Said, in one line, where PostgreSQL's server programs are missing. */
export const MISSING = 'PostgreSQL is not installed: the PostgreSQL tests need its initdb and pg_ctl ' +
  '(Debian: apt-get install -y postgresql)'

export interface PostgresCluster {
  /** A new, empty database of its own (about 150 ms); returns its postgres:// URL. */
  createDatabase (): Promise<string>
  /**
   * A new, empty schema of its own in one shared database (a few ms), reached through its URL's
   * search_path. Not for tests that change the database itself or listen for notifications.
   */
  createSchema (): Promise<string>
  /** Stops the server as an operator would (`pg_ctl stop -m fast`: connections closed at once). */
  stop (): Promise<void>
  /** Starts it again, on the same port and data. */
  start (): Promise<void>
}

/** A port nothing listens on now, on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    }).on('error', reject)
  })
}

/**
 * Starts a throwaway PostgreSQL cluster (initdb into a temporary folder, pg_ctl start on a free
 * port, fsync off), stopped and removed when `t` ends; about 1 s here. initdb refuses to run as
 * root, so as root the cluster belongs to the `postgres` user. Where PostgreSQL is not installed,
 * the test file fails with the one line MISSING and ends: not a stack, nor one failure per test.
 */
export async function startPostgres (t: Test): Promise<PostgresCluster> {
  const bin = postgresServerBin(process.env)
  if (bin === undefined) {
    t.fail(MISSING, { diagnostic: false })
    process.exit(1)
  }
  const dir = mkdtempSync(join(tmpdir(), 'pg-'))
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  const command = (program: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args]
  const data = join(dir, 'data')
  const port = await freePort()
  let stopped = false
  const stopSync = (): void => {
    if (stopped) return
    stopped = true
    try {
      execFileSync(...command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' })
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  // A test process that ends before its teardown (tap's timeout sends SIGTERM) leaves no server behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    stopSync()
    process.kill(process.pid, signal)
  }
  process.once('exit', stopSync)
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  await run(...command('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']))
  const start = async (): Promise<void> => {
    await run(...command('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off ` +
      '-c full_page_writes=off -c max_connections=200', 'start']))
  }
  await start()
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`
  const admin = postgres(url('postgres'), { max: 1, onnotice: () => {} })
  let databases = 0
  let schemas = 0
  t.teardown(async () => {
    await admin.end({ timeout: 1 })
    stopped = true
    process.removeListener('exit', stopSync)
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
    await run(...command('pg_ctl', ['-D', data, '-m', 'fast', 'stop'])).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    async createDatabase () {
      const name = `test_${++databases}`
      await admin.unsafe(`CREATE DATABASE ${name}`)
      return url(name)
    },
    async stop () {
      await run(...command('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']))
    },
    start,
    async createSchema () {
      const name = `test_${++schemas}`
      await admin.unsafe(`CREATE SCHEMA ${name}`)
      return `${url('postgres')}?search_path=${name}`
    }
  }
}
