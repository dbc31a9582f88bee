// The subset of the Dockerfile syntax that our Dockerfile uses, read by scripts/image-stages.ts.
// https://docs.docker.com/reference/dockerfile/

export interface Instruction { keyword: string, args: string, line: number }
export interface Stage { name: string, base: string, instructions: Instruction[] }

/** Stages in order, each with its instructions; comments and line continuations are resolved. */
export function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  let i = 0
  while (i < lines.length) {
    const line = i + 1
    let logical = lines[i++] as string
    while (logical.endsWith('\\') && i < lines.length) logical = logical.slice(0, -1) + (lines[i++] as string).trim()
    const trimmed = logical.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(trimmed) as unknown as [string, string, string]
    const instruction = { keyword: keyword.toUpperCase(), args, line }
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = args.split(/\s+/) as [string, string?, string?]
      stages.push({ name: as?.toUpperCase() === 'AS' && name !== undefined ? name : String(stages.length), base, instructions: [] })
    } else if (stages.length === 0) {
      throw new Error(`Dockerfile line ${line}: ${instruction.keyword} before FROM`)
    } else {
      stages[stages.length - 1]?.instructions.push(instruction)
    }
  }
  return stages
}

/** ENV's `KEY=value KEY2="a b"` pairs (the one-pair `ENV KEY value` form is refused: Docker deprecates it). */
export function parseEnvPairs (args: string): Record<string, string> {
  const env: Record<string, string> = {}
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)\s*/y
  let match
  let end = 0
  while ((match = pair.exec(args)) !== null) {
    const value = match[2] as string
    env[match[1] as string] = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value
    end = pair.lastIndex
  }
  if (end !== args.length || args === '') throw new Error(`ENV ${args}: expected KEY=value pairs`)
  return env
}

/** `--name=value` options in front of an instruction's arguments (COPY --from, HEALTHCHECK --interval, RUN --mount). */
export function splitOptions (args: string): { options: Record<string, string>, rest: string } {
  const options: Record<string, string> = {}
  let rest = args
  let match
  while ((match = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) !== null) {
    options[match[1] as string] = match[2] as string
    rest = rest.slice(match[0].length)
  }
  return { options, rest }
}

/** A command in exec form (`["node", "x.js"]`) as its argv, or in shell form as `sh -c`. */
export function commandOf (args: string): string[] {
  if (!args.startsWith('[')) return ['/bin/sh', '-c', args]
  const argv: unknown = JSON.parse(args)
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) {
    throw new Error(`not an exec form: ${args}`)
  }
  return argv
}

/** A .dockerignore as a predicate on paths relative to the build context (`**`, `*`, `?`, `!` exceptions). */
export function dockerignore (text: string): (path: string) => boolean {
  const rules = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const negated = line.startsWith('!')
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '')
    const source = pattern.split('/').map((part) => part === '**'
      ? '.*'
      : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
      .join('/').replace(/(^|\/)\.\*\//g, '$1(?:.*/)?')
    // A pattern that names a folder leaves out everything in it.
    return { negated, regex: new RegExp(`^${source}(/.*)?$`) }
  })
  return (path) => rules.reduce((ignored, rule) => rule.regex.test(path) ? !rule.negated : ignored, false)
}
