import { createServer } from 'node:net'
import postgres from 'postgres'
import type { Test } from 'tap'
import { newCluster, postgresServerBin } from '../bench/postgres.js'

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
 * Starts a throwaway PostgreSQL cluster (bench/postgres.ts: initdb into a temporary folder, pg_ctl
 * start on a free port, fsync off), stopped and removed when `t` ends; about 1 s here. Where
 * PostgreSQL is not installed, the test file fails with the one line MISSING and ends: not a
 * stack, nor one failure per test.
 */
export async function startPostgres (t: Test): Promise<PostgresCluster> {
  const bin = postgresServerBin(process.env)
  if (bin === undefined) {
    t.fail(MISSING, { diagnostic: false })
    process.exit(1)
  }
  const cluster = newCluster({ bin, port: await freePort() })
  // A test process that ends before its teardown (tap's timeout sends SIGTERM) leaves no server behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    cluster.removeSync()
    process.kill(process.pid, signal)
  }
  process.once('exit', cluster.removeSync)
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  await cluster.start()
  const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => {} })
  let databases = 0
  let schemas = 0
  t.teardown(async () => {
    await admin.end({ timeout: 1 })
    process.removeListener('exit', cluster.removeSync)
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
    await cluster.remove()
  })
  return {
    async createDatabase () {
      const name = `test_${++databases}`
      await admin.unsafe(`CREATE DATABASE ${name}`)
      return cluster.url(name)
    },
    stop: cluster.stop,
    start: cluster.start,
    async createSchema () {
      const name = `test_${++schemas}`
      await admin.unsafe(`CREATE SCHEMA ${name}`)
      return `${cluster.url('postgres')}?search_path=${name}`
    }
  }
}
