// The benchmark's settings: environment variables for the figures, two flags on the command line.
//
//   BENCH_DURATION   seconds per measurement (10)
//   BENCH_ROUNDS     interleaved rounds (3)
//   BENCH_CONNECTIONS connections per autocannon instance (50)
//   BENCH_WARMUP     seconds of unmeasured load per scenario before round 1 (1; 0 with --smoke)
//   BENCH_RESULTS    where to write the markdown (bench/results.md)
//   BENCH_CPU_PROF   a folder: run our servers under `node --cpu-prof` and leave the profiles there
//   --smoke          1 round of 1 s, no warm-up: proves the harness works, measures nothing
//   --out <path>     same as BENCH_RESULTS
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { HarnessError } from './harness-error.js'
import type { Settings } from './report.js'

export interface Options extends Settings {
  connections: number
  out: string
  cpuProfDir?: string
  smoke: boolean
}

function positive (env: NodeJS.ProcessEnv, name: string, fallback: number, { integer = false, zero = false } = {}): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < 0 || (!zero && value === 0)) {
    throw new HarnessError(`${name}: expected a ${integer ? 'whole ' : ''}number${zero ? ' >= 0' : ' > 0'}, got "${raw}"`)
  }
  return value
}

export function parseOptions (argv: string[], env: NodeJS.ProcessEnv, root: string): Options {
  let values: { smoke?: boolean, out?: string }
  try {
    const known = { smoke: { type: 'boolean' }, out: { type: 'string' } } as const
    values = parseArgs({ args: argv, options: known, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new HarnessError(`${(err as Error).message} (known: --smoke, --out <path>)`)
  }
  const smoke = values.smoke === true
  const out = values.out ?? env.BENCH_RESULTS ?? ''
  return {
    duration: smoke ? 1 : positive(env, 'BENCH_DURATION', 10),
    rounds: smoke ? 1 : positive(env, 'BENCH_ROUNDS', 3, { integer: true }),
    warmup: smoke ? 0 : positive(env, 'BENCH_WARMUP', 1, { zero: true }),
    connections: positive(env, 'BENCH_CONNECTIONS', 50, { integer: true }),
    out: out === '' ? join(root, 'bench', 'results.md') : resolve(out),
    cpuProfDir: env.BENCH_CPU_PROF === undefined || env.BENCH_CPU_PROF === '' ? undefined : resolve(env.BENCH_CPU_PROF),
    smoke
  }
}
