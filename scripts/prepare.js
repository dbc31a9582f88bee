// npm runs `prepare` after every local `npm ci` / `npm install`, production installs included.
// A full install has TypeScript: build dist/, so `npm ci && npm start` serves on a fresh clone.
// A production install (`npm ci --omit=dev`) has not: it must not fail, since the build comes
// from elsewhere (the Dockerfile's build stage, or `npm run build` before `npm prune --omit=dev`).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  tsc = undefined
}

if (tsc !== undefined) {
  const { status } = spawnSync(process.execPath, [tsc], { stdio: 'inherit' })
  process.exit(status ?? 1)
}
if (!existsSync('dist/src/main.cjs')) {
  process.stderr.write('prepare: TypeScript is not installed (a production install) and dist/ is missing: ' +
    'build first (npm ci && npm run build), then npm prune --omit=dev\n')
}
