import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** What the tests of the build run: the server, its launcher and the benchmark. */
const COMPILED = ['src', 'plugins', 'routes', 'bench']

function sources (folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.c?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/**
 * The sources whose compiled file in dist/ is missing or older than they are. `npm test` runs `tsc`
 * before tap, so this is empty there; run alone, a test of dist/ would otherwise test old code.
 */
export function staleBuild (): string[] {
  return COMPILED.flatMap(sources).filter((source) => {
    const compiled = join(ROOT, 'dist', source.replace(/\.ts$/, '.js').replace(/\.cts$/, '.cjs'))
    try {
      return statSync(compiled).mtimeMs < statSync(join(ROOT, source)).mtimeMs
    } catch {
      return true
    }
  })
}

/** Throws, naming the stale files, unless dist/ was built from the current sources. */
export function assertBuilt (): void {
  const stale = staleBuild()
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: run \`npm run build\` (npm test does)`)
}
