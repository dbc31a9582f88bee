// The parts of `npm run soak` (bench/soak.ts) that are plain functions, unit-tested in
// test/bench/soak-report.test.ts: the targets, the slope, the curve, and npm start's command.

/** The targets of issue 12: RSS flattens below this, rising at most this fast over the second half. */
export const RSS_LIMIT_MB = 200
export const SLOPE_LIMIT_MB_PER_MIN = 2
export interface Sample { seconds: number, rssMb: number }

/** Least-squares slope of RSS over the second half of the samples, in MB per minute. */
export function lastHalfSlope (samples: readonly Sample[]): number {
  const half = samples.slice(Math.floor(samples.length / 2))
  if (half.length < 2) return 0
  const meanX = half.reduce((sum, s) => sum + s.seconds, 0) / half.length
  const meanY = half.reduce((sum, s) => sum + s.rssMb, 0) / half.length
  let num = 0
  let den = 0
  for (const s of half) {
    num += (s.seconds - meanX) * (s.rssMb - meanY)
    den += (s.seconds - meanX) ** 2
  }
  return den === 0 ? 0 : (num / den) * 60
}

/** A text chart of the curve: one row per sample, a bar scaled to the peak. */
export function curve (samples: readonly Sample[], width = 50): string {
  const peak = Math.max(...samples.map((s) => s.rssMb), 1)
  return samples.map((s) => {
    const bar = '#'.repeat(Math.round(s.rssMb / peak * width))
    return `${String(Math.round(s.seconds)).padStart(5)} s ${s.rssMb.toFixed(1).padStart(6)} MB ${bar}`
  }).join('\n')
}

/**
 * `npm start`'s command, read from package.json so that the soak runs what operators run:
 * its leading `NAME=value` variables, node's flags and the entry file.
 */
export function startCommand (script: string): { env: Record<string, string>, nodeFlags: string[], entry: string } {
  const words = script.trim().split(/\s+/)
  const env: Record<string, string> = {}
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) {
    const [name, ...value] = (words.shift() as string).split('=')
    env[name as string] = value.join('=')
  }
  if (words.shift() !== 'node' || words.length === 0) throw new Error(`npm start is not "[NAME=value ...] node [flags] <file>": ${script}`)
  const entry = words.pop() as string
  return { env, nodeFlags: words, entry }
}

/**
 * `npm start`'s node flags for a launcher that sets the server's environment itself (the benchmark,
 * the image's CMD): all but `--env-file`, which would read a developer's `.env`.
 */
export function launchFlags (script: string): string[] {
  return startCommand(script).nodeFlags.filter((flag) => !flag.startsWith('--env-file'))
}
