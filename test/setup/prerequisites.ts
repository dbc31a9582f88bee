import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { postgresServerBin } from '../../bench/postgres.js'

/** Something outside npm's reach that some tests need. */
export interface Prerequisite {
  name: string
  /** The tests that need it, for the message. */
  neededBy: string
  present: (env: NodeJS.ProcessEnv) => boolean
  /** Debian's packages that bring it, installed when `npm test` runs as root on Debian. */
  debianPackages: string[]
  /** Another way to provide it, for the one-line message. */
  otherwise: string
}

/** Whether `command` is an executable file in PATH. */
export function inPath (command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(delimiter).some((folder) => folder !== '' && existsSync(join(folder, command)))
}

// playwright-core never downloads a browser; test/browser/swagger-ui.test.ts reads the same CHROMIUM_PATH.
export const CHROMIUM: Prerequisite = {
  name: 'Chromium',
  neededBy: 'test/browser/swagger-ui.test.ts',
  present: (env) => existsSync(env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
  debianPackages: ['chromium'],
  otherwise: 'or set CHROMIUM_PATH to a Chromium binary'
}

// test/postgres.ts starts a throwaway cluster with these programs; no server has to be running.
export const POSTGRESQL: Prerequisite = {
  name: 'PostgreSQL\'s server programs',
  neededBy: 'the PostgreSQL store tests (test/postgres.ts)',
  present: (env) => postgresServerBin(env) !== undefined,
  debianPackages: ['postgresql'],
  otherwise: 'or set POSTGRESQL_BIN to the folder holding initdb and pg_ctl'
}

// test/cluster/haproxy.test.ts runs deploy/haproxy.cfg in front of three instances.
export const HAPROXY: Prerequisite = {
  name: 'haproxy',
  neededBy: 'test/cluster/haproxy.test.ts',
  present: (env) => inPath('haproxy', env),
  debianPackages: ['haproxy'],
  otherwise: 'or put a haproxy binary in PATH'
}

/** What `npm test` needs beyond node_modules. */
export const PREREQUISITES: readonly Prerequisite[] = [CHROMIUM, POSTGRESQL, HAPROXY]

export interface Machine {
  env: NodeJS.ProcessEnv
  root: boolean
  /** Debian or a kin of it. As root, missing packages are installed. */
  aptGet: boolean
  /** Runs a command; resolves with its exit status and the end of its error output. */
  run: (command: string, args: string[]) => { status: number | null, stderr: string }
  say: (line: string) => void
}

export function thisMachine (): Machine {
  return {
    env: process.env,
    root: process.getuid?.() === 0,
    aptGet: inPath('apt-get', process.env),
    run (command, args) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
      const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
      return { status: result.status, stderr: result.stderr ?? String(result.error ?? '') }
    },
    say: (line) => { process.stderr.write(`${line}\n`) }
  }
}

/**
 * Installs what is missing where it can (as `.ci/install-chromium.sh` does), else says in one
 * line per missing thing what to install. Returns true when every prerequisite is present.
 */
export function ensurePrerequisites (prerequisites: readonly Prerequisite[], machine: Machine): boolean {
  const missing = prerequisites.filter((p) => !p.present(machine.env))
  if (missing.length === 0) return true
  if (machine.root && machine.aptGet) {
    const packages = missing.flatMap((p) => p.debianPackages)
    machine.say(`npm test: installing ${packages.join(' ')} with apt-get, for ${missing.map((p) => p.neededBy).join(', ')}`)
    const update = machine.run('apt-get', ['update', '-qq'])
    const result = update.status === 0 ? machine.run('apt-get', ['install', '-y', '-qq', ...packages]) : update
    if (result.status !== 0) machine.say(`npm test: apt-get failed: ${result.stderr.trim().split('\n').pop() ?? ''}`)
  }
  const stillMissing = missing.filter((p) => !p.present(machine.env))
  for (const p of stillMissing) {
    const install = `apt-get install -y ${p.debianPackages.join(' ')}`
    const how = machine.aptGet ? `run \`${machine.root ? '' : 'sudo '}${install}\`` : `install it (on Debian: \`${install}\`)`
    machine.say(`npm test needs ${p.name} for ${p.neededBy}: ${how}, ${p.otherwise}`)
  }
  return stillMissing.length === 0
}
