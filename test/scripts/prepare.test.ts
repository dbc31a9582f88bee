import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

const SCRIPT = fileURLToPath(new URL('../../scripts/prepare.js', import.meta.url))

/** A folder outside the repository (tap's testdir is inside it), where no TypeScript is found up the tree. */
function outside (t: Test, files: Record<string, string> = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'secure-api-prepare-'))
  t.teardown(() => { rmSync(folder, { recursive: true, force: true }) })
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(folder, path, '..'), { recursive: true })
    writeFileSync(join(folder, path), text)
  }
  return folder
}

/** Runs scripts/prepare.js in `folder`, from a copy there. */
function prepare (folder: string): { status: number | null, stderr: string } {
  mkdirSync(join(folder, 'scripts'), { recursive: true })
  copyFileSync(SCRIPT, join(folder, 'scripts', 'prepare.js'))
  writeFileSync(join(folder, 'package.json'), '{"type":"module"}\n')
  const run = spawnSync(process.execPath, ['scripts/prepare.js'],
    { cwd: folder, env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '' }, encoding: 'utf8' })
  return { status: run.status, stderr: run.stderr }
}

// Issue 14: `prepare: tsc` broke `npm ci --omit=dev`, which has no TypeScript.
t.test('without TypeScript and with dist/ built, prepare succeeds silently', async (t) => {
  const folder = outside(t, { 'dist/src/main.cjs': '' })
  t.same(prepare(folder), { status: 0, stderr: '' })
})

t.test('without TypeScript and without dist/, prepare succeeds and says in one line how to build', async (t) => {
  const { status, stderr } = prepare(outside(t))
  t.equal(status, 0)
  t.equal(stderr, 'prepare: TypeScript is not installed (a production install) and dist/ is missing: ' +
    'build first (npm ci && npm run build), then npm prune --omit=dev\n')
})

t.test('with TypeScript installed, prepare runs tsc and fails when it fails', async (t) => {
  const folder = outside(t, {
    'node_modules/typescript/package.json': '{"name":"typescript"}',
    'node_modules/typescript/bin/tsc': 'process.exit(3)'
  })
  t.equal(prepare(folder).status, 3)
})
