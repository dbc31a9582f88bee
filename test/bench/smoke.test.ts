import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { postgresServerBin } from '../../bench/postgres.js'
import { assertBuilt } from '../dist.js'

// The smoke run spawns the compiled benchmark against the compiled servers (`npm test` builds them
// first, and the test refuses a dist/ older than the sources), so it takes a while: about 2 s per
// scenario plus the servers' start, their argon2 logins and 20,000 seeded users, and with PostgreSQL
// a cluster, three more servers and the propagation trials (about 50 s in all on a busy 2-core machine).
t.setTimeout(180_000)

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BENCH = join(ROOT, 'dist', 'bench', 'run.js')
const ROWS = ['GET /health', 'GET /admin-only', 'GET /admin-only, a process serving it only', 'GET /admin-only, LOG_LEVEL=info',
  'GET /admin-only, METRICS_PORT set', 'GET /admin-only, 20000 users',
  'bare Fastify 5: GET /admin-only', 'bare Fastify 5 + helmet\'s headers: GET /admin-only', 'Fastify 5 + @fastify/jwt: GET /admin-only',
  'GET /items?limit=20', 'POST /items', 'POST /token',
  'GET /admin-only during login storm', 'POST /token (the storm)']
// Issue 11: measured where PostgreSQL is installed (npm test's pretest installs it; CI has it), else skipped in one line.
const POSTGRES = postgresServerBin(process.env) !== undefined
const PG_ROWS = ['GET /admin-only (PostgreSQL)', 'POST /items (PostgreSQL)']

/**
 * The caller's environment without tap's settings. tap's spawn wrapper still adds its process-info
 * loader to NODE_OPTIONS; `_TAPJS_PROCESSINFO_COVERAGE_=0` (read by @tapjs/processinfo) keeps it from
 * recording coverage of the benchmark and the server, which this test drives but does not unit-test.
 */
function plainEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name === 'NODE_V8_COVERAGE' || name.startsWith('TAP') || name.startsWith('_TAPJS')) continue
    env[name] = value
  }
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
  return env
}

async function runBench (out: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BENCH, '--smoke', '--out', out], { cwd: ROOT, env: plainEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const killer = setTimeout(() => child.kill('SIGKILL'), 150_000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(killer)
  return { code, stdout, stderr }
}

/** Markdown table rows by their first cell, each the list of its cells. */
function tableRows (markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>()
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| ')) continue
    const cells = line.slice(1, -1).split('|').map((cell) => cell.trim())
    rows.set(cells[0] as string, cells)
  }
  return rows
}

t.test('the smoke run of the benchmark measures every scenario, with no errors outside /token', async (t) => {
  assertBuilt()
  const folder = await mkdtemp(join(tmpdir(), 'bench-smoke-'))
  t.teardown(() => rm(folder, { recursive: true, force: true }))
  const out = join(folder, 'results.md')

  const { code, stdout, stderr } = await runBench(out)
  t.equal(code, 0, 'the harness ran to the end', { stderr })
  const text = await readFile(out, 'utf8')
  const rows = tableRows(text)
  const header = rows.get('scenario') ?? []
  const column = (name: string): number => header.indexOf(name)
  t.same(header.slice(0, 3), ['scenario', 'conns', 'req/s'], 'the table has its header')

  for (const label of POSTGRES ? [...ROWS, ...PG_ROWS] : ROWS) {
    const row = rows.get(label)
    if (row === undefined) {
      t.fail(`no row for ${label}`)
      continue
    }
    t.ok(Number(row[column('req/s')]) > 0, `${label} got answers`)
    if (label.startsWith('POST /token')) continue
    t.same(['errors', 'timeouts', 'non-2xx'].map((name) => row[column(name)]), ['0', '0', '0'], `${label} had no errors`)
  }
  t.equal(stdout.match(/^(PASS|FAIL) {2}/gm)?.length, POSTGRES ? 11 : 9, 'one verdict line per target')
  t.match(stdout, /^INFO {2}bare Fastify 5 \+ helmet's headers vs bare Fastify 5, no target: ratio \d/m)
  t.match(stdout, /^INFO {2}GET \/admin-only \(LOG_LEVEL=warn\) vs bare Fastify 5 \+ helmet's headers, no target: ratio \d/m)
  t.match(stderr, /: round 1\/1 GET \/admin-only, 20000 users: 1 s unmeasured first\n.*: round 1\/1 GET \/admin-only, 20000 users\n/,
    'the many users\' row was primed, then measured')
  // The verdicts between two processes measured them side by side: one line per pair in the report, its rounds' figures.
  const pairs = [['GET /admin-only, LOG_LEVEL=info', ROWS[2]], ['GET /admin-only, METRICS_PORT set', ROWS[2]],
    [ROWS[1], 'bare Fastify 5: GET /admin-only'], [ROWS[1], 'Fastify 5 + @fastify/jwt: GET /admin-only'],
    ['bare Fastify 5 + helmet\'s headers: GET /admin-only', 'bare Fastify 5: GET /admin-only'],
    [ROWS[1], 'bare Fastify 5 + helmet\'s headers: GET /admin-only'],
    ...(POSTGRES ? [[PG_ROWS[0], ROWS[1]]] : [])]
  for (const [row, base] of pairs) {
    t.ok(text.includes(`\n- ${row as string} | beside ${base as string}: `), `${row as string} was measured beside ${base as string}`)
  }
  t.equal(text.match(/^- .* \| beside .*: \d+\/s \d+ µs \| \d+\/s \d+ µs$/gm)?.length, pairs.length, 'and nothing else was')
  if (POSTGRES) {
    t.match(stdout, /^(PASS|FAIL) {2}GET \/admin-only \(PostgreSQL\) CPU µs\/req <= 1\.15 x SQLite mode: CPU ratio \d/m)
    t.match(stdout, /^INFO {2}POST \/items \(PostgreSQL\) CPU µs\/req vs SQLite mode, no target: CPU ratio \d/m)
    t.match(stdout, /^(PASS|FAIL) {2}propagation across 3 instances .*: p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms over 6 trials/m)
    t.match(text, /p50 \/ p99 \/ max by kind, in ms: disable [\d.]+ \/ [\d.]+ \/ [\d.]+, roles .*, \/revoke /)
    t.match(text, /several instances cannot show throughput scaling/)
  } else {
    t.match(stdout, /^PostgreSQL is not installed .*: the PostgreSQL rows, their verdict and the propagation line are skipped\.$/m)
    for (const label of PG_ROWS) t.notOk(rows.has(label), `no row for ${label}`)
  }
})
