import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { postgresServerBin } from '../../bench/postgres.js'
import {
  CHROMIUM, ensurePrerequisites, HAPROXY, inPath, POSTGRESQL, PREREQUISITES, type Machine, type Prerequisite
} from './prerequisites.js'

/** A prerequisite that `apt-get install` brings when `installs` says so. */
function fake (installs: boolean): {
  prerequisite: Prerequisite,
  machine: (over: Partial<Machine>) => Machine & { said: string[], ran: string[] }
} {
  let installed = false
  const prerequisite: Prerequisite = {
    name: 'Chromium',
    neededBy: 'test/browser/swagger-ui.test.ts',
    present: () => installed,
    debianPackages: ['chromium'],
    otherwise: 'or set CHROMIUM_PATH'
  }
  return {
    prerequisite,
    machine (over) {
      const said: string[] = []
      const ran: string[] = []
      return {
        env: {},
        root: true,
        aptGet: true,
        run (command, args) {
          ran.push([command, ...args].join(' '))
          if (args[0] === 'install') installed = installs
          return installs ? { status: 0, stderr: '' } : { status: 100, stderr: 'E: Unable to locate package chromium\n' }
        },
        say: (line) => { said.push(line) },
        ...over,
        said,
        ran
      }
    }
  }
}

// Issue 14: `npm test` passes on a fresh machine by itself, or stops with one clear line.
t.test('with everything present, nothing is run or said', async (t) => {
  const { prerequisite, machine } = fake(true)
  const m = machine({ })
  t.equal(ensurePrerequisites([{ ...prerequisite, present: () => true }], m), true)
  t.same([m.said, m.ran], [[], []])
})

t.test('as root on Debian, a missing browser is installed with apt-get, announced in one line', async (t) => {
  const { prerequisite, machine } = fake(true)
  const m = machine({})
  t.equal(ensurePrerequisites([prerequisite], m), true)
  t.same(m.ran, ['apt-get update -qq', 'apt-get install -y -qq chromium'])
  t.same(m.said, ['npm test: installing chromium with apt-get, for test/browser/swagger-ui.test.ts'])
})

t.test('when apt-get fails, its last error line and what to install are said, and the check fails', async (t) => {
  const { prerequisite, machine } = fake(false)
  const m = machine({})
  t.equal(ensurePrerequisites([prerequisite], m), false)
  t.same(m.said.slice(1), [
    'npm test: apt-get failed: E: Unable to locate package chromium',
    'npm test needs Chromium for test/browser/swagger-ui.test.ts: run `apt-get install -y chromium`, or set CHROMIUM_PATH'
  ])
})

t.test('when apt-get update fails, install is not tried', async (t) => {
  const { prerequisite, machine } = fake(false)
  const m = machine({})
  ensurePrerequisites([prerequisite], m)
  t.same(m.ran, ['apt-get update -qq'])
})

t.test('not root, nothing is installed: one line says to run apt-get with sudo', async (t) => {
  const { prerequisite, machine } = fake(true)
  const m = machine({ root: false })
  t.equal(ensurePrerequisites([prerequisite], m), false)
  t.same(m.ran, [])
  t.same(m.said,
    ['npm test needs Chromium for test/browser/swagger-ui.test.ts: run `sudo apt-get install -y chromium`, or set CHROMIUM_PATH'])
})

t.test('without apt-get, one line says what to install', async (t) => {
  const { prerequisite, machine } = fake(true)
  const m = machine({ aptGet: false })
  t.equal(ensurePrerequisites([prerequisite], m), false)
  t.same(m.said,
    ['npm test needs Chromium for test/browser/swagger-ui.test.ts: install it (on Debian: `apt-get install -y chromium`), ' +
      'or set CHROMIUM_PATH'])
})

t.test('Chromium is looked for at CHROMIUM_PATH, else at Debian\'s /usr/bin/chromium', async (t) => {
  t.equal(CHROMIUM.present({ CHROMIUM_PATH: process.execPath }), true)
  t.equal(CHROMIUM.present({ CHROMIUM_PATH: '/nonexistent/chromium' }), false)
  t.same(PREREQUISITES, [CHROMIUM, POSTGRESQL, HAPROXY])
})

t.test('inPath finds a command in PATH only', async (t) => {
  t.equal(inPath('node', { PATH: `/nonexistent:${dirname(process.execPath)}` }), true)
  t.equal(inPath('node', { PATH: '/nonexistent' }), false)
  t.equal(inPath('node', {}), false)
})

/** Runs `npm test`'s pretest step as npm would, with tsx, in this environment. */
function pretest (env: Record<string, string>): { status: number | null, stdout: string, stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', 'test/setup/pretest.ts'], { env: { NODE_OPTIONS: '', ...env }, encoding: 'utf8' })
}

/** A folder holding stand-ins for haproxy, initdb and pg_ctl: what the pretest step looks for besides Chromium. */
function standIns (t: { teardown (fn: () => unknown): void }): string {
  const bin = mkdtempSync(join(tmpdir(), 'stand-ins-'))
  t.teardown(() => { rmSync(bin, { recursive: true, force: true }) })
  for (const name of ['haproxy', 'initdb', 'pg_ctl']) writeFileSync(join(bin, name), '')
  return bin
}

t.test('the pretest step is silent and succeeds when everything is there', async (t) => {
  const bin = standIns(t)
  const result = pretest({ PATH: `${bin}:${process.env.PATH ?? ''}`, POSTGRESQL_BIN: bin, CHROMIUM_PATH: process.execPath })
  t.match(result, { status: 0, stdout: '', stderr: '' })
})

t.test('the pretest step stops with exit code 1 and one line, no stack trace, ' +
  'when Chromium is missing and cannot be installed', async (t) => {
  // No apt-get in this PATH, so nothing is installed, as root or not.
  const bin = standIns(t)
  const { status, stdout, stderr } = pretest({ PATH: bin, POSTGRESQL_BIN: bin, CHROMIUM_PATH: '/nonexistent/chromium' })
  t.equal(status, 1)
  t.equal(stdout, '')
  t.equal(stderr, 'npm test needs Chromium for test/browser/swagger-ui.test.ts: install it (on Debian: `apt-get install -y chromium`), ' +
    'or set CHROMIUM_PATH to a Chromium binary\n')
})

t.test('PostgreSQL\'s server programs are looked for at POSTGRESQL_BIN, else in Debian\'s /usr/lib/postgresql/N/bin', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'pg-bin-'))
  t.teardown(() => { rmSync(bin, { recursive: true, force: true }) })
  t.equal(POSTGRESQL.present({ POSTGRESQL_BIN: bin }), false, 'a folder without initdb and pg_ctl')
  writeFileSync(join(bin, 'initdb'), '')
  writeFileSync(join(bin, 'pg_ctl'), '')
  t.equal(postgresServerBin({ POSTGRESQL_BIN: bin }), bin)
  t.equal(POSTGRESQL.present({ POSTGRESQL_BIN: bin }), true)
  t.same(POSTGRESQL.debianPackages, ['postgresql'])
})

t.test('haproxy is looked for in PATH', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'haproxy-bin-'))
  t.teardown(() => { rmSync(bin, { recursive: true, force: true }) })
  t.equal(HAPROXY.present({ PATH: bin }), false)
  writeFileSync(join(bin, 'haproxy'), '')
  t.equal(HAPROXY.present({ PATH: bin }), true)
  t.same(HAPROXY.debianPackages, ['haproxy'])
})
