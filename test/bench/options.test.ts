import t from 'tap'
import { parseOptions } from '../../bench/options.js'

// Issue 15.4: the benchmark's options through node:util parseArgs, its figures from the environment.
t.test('defaults: 3 rounds of 10 s, 1 s warm-up, 50 connections, bench/results.md', async (t) => {
  t.same(parseOptions([], {}, '/repo'), {
    duration: 10, rounds: 3, warmup: 1, connections: 50, out: '/repo/bench/results.md', cpuProfDir: undefined, smoke: false
  })
})

t.test('--smoke runs 1 round of 1 s without warm-up, whatever the environment says; --out and BENCH_* are read', async (t) => {
  const env = {
    BENCH_DURATION: '30',
    BENCH_ROUNDS: '5',
    BENCH_WARMUP: '0',
    BENCH_CONNECTIONS: '10',
    BENCH_RESULTS: '/tmp/r.md',
    BENCH_CPU_PROF: '/tmp/prof'
  }
  t.same(parseOptions([], env, '/repo'),
    { duration: 30, rounds: 5, warmup: 0, connections: 10, out: '/tmp/r.md', cpuProfDir: '/tmp/prof', smoke: false })
  t.same(parseOptions(['--smoke', '--out', '/tmp/s.md'], env, '/repo'),
    { duration: 1, rounds: 1, warmup: 0, connections: 10, out: '/tmp/s.md', cpuProfDir: '/tmp/prof', smoke: true })
  t.equal(parseOptions(['--out=/tmp/x.md'], {}, '/repo').out, '/tmp/x.md')
})

t.test('a bad argument or figure stops the harness with a message naming it', async (t) => {
  t.throws(() => parseOptions(['--fast'], {}, '/repo'), /Unknown option '--fast' \(known: --smoke, --out <path>\)/)
  t.throws(() => parseOptions(['extra'], {}, '/repo'), /known: --smoke, --out <path>/)
  t.throws(() => parseOptions([], { BENCH_ROUNDS: '1.5' }, '/repo'), /^BENCH_ROUNDS: expected a whole number > 0, got "1\.5"$/)
  t.throws(() => parseOptions([], { BENCH_DURATION: '0' }, '/repo'), /^BENCH_DURATION: expected a number > 0, got "0"$/)
  t.throws(() => parseOptions([], { BENCH_WARMUP: '-1' }, '/repo'), /^BENCH_WARMUP: expected a number >= 0, got "-1"$/)
  t.throws(() => parseOptions([], { BENCH_CONNECTIONS: 'many' }, '/repo'), /^BENCH_CONNECTIONS: expected a whole number > 0, got "many"$/)
})
