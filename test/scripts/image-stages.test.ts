import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

const SCRIPT = fileURLToPath(new URL('../../scripts/image-stages.ts', import.meta.url))

// A server that answers GET /health as ours does, and exits 0 on SIGTERM.
const SERVER = `require('node:http').createServer((req, res) => res.end(req.url === '/health' ? '{"status":"ok"}' : ''))
  .listen(Number(process.env.PORT), process.env.HOST)
process.on('SIGTERM', () => process.exit(0))
`
const DOCKERFILE = `FROM builder AS build
WORKDIR /app
COPY . .
RUN echo built > built.txt

FROM runner
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/server.cjs /app/built.txt ./
RUN mkdir -p data && if [ "$(id -u)" = 0 ]; then chown 1000:1000 data; fi
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.cjs"]
`

/** A build context in a fresh folder: a package.json with a dev dependency, the server, a Dockerfile. */
function context (t: Test, files: Record<string, string> = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'image-stages-test-'))
  t.teardown(() => { rmSync(folder, { recursive: true, force: true }) })
  const all = {
    'package.json': '{"devDependencies":{"left-pad":"1"}}',
    'server.cjs': SERVER,
    Dockerfile: DOCKERFILE,
    '.dockerignore': 'secret.txt\n',
    'secret.txt': 'x',
    ...files
  }
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(join(folder, path, '..'), { recursive: true })
    writeFileSync(join(folder, path), text)
  }
  return folder
}

function stages (folder: string): { status: number | null, stdout: string, stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, join(folder, 'Dockerfile')], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: '' },
    encoding: 'utf8'
  })
}

// Issue 14 "A production image": CI runs the Dockerfile's stages outside a container with this script.
t.test('the stages run, the last one starts as its USER and passes the HEALTHCHECK, GET /health and SIGTERM', async (t) => {
  const { status, stdout, stderr } = stages(context(t))
  t.equal(stderr, '')
  t.equal(status, 0)
  t.match(stdout, /^== stage build \(FROM builder: .*\)\nRUN echo built > built.txt\n== stage 1 \(FROM runner: /)
  t.match(stdout, /image stages: passed \(HEALTHCHECK and GET \/health 200 as uid \d+, no dev dependency, exit 0 on SIGTERM\)\n$/)
  if (process.getuid?.() === 0) t.match(stdout, /as uid 1000,/, 'root runs the server as the USER')
})

t.test('a dev dependency in the last stage fails the run, before the server starts', async (t) => {
  const folder = context(t, { 'node_modules/left-pad/index.js': '' })
  writeFileSync(join(folder, 'Dockerfile'), DOCKERFILE.replace('COPY --from=build /app/server.cjs',
    'COPY --from=build /app/node_modules ./node_modules\nCOPY --from=build /app/server.cjs'))
  t.match(stages(folder), { status: 1, stderr: 'image stages: FAILED: dev dependencies in the final stage: left-pad\n' })
})

t.test('.dockerignore keeps files out of the context', async (t) => {
  const folder = context(t)
  writeFileSync(join(folder, 'Dockerfile'), DOCKERFILE.replace('RUN echo built > built.txt',
    'RUN echo built > built.txt && test ! -e secret.txt'))
  t.match(stages(folder), { status: 0 })
})

t.test('a failing RUN line fails the run, naming the line', async (t) => {
  const folder = context(t, { Dockerfile: DOCKERFILE.replace('RUN echo built > built.txt', 'RUN exit 3') })
  t.match(stages(folder), { status: 1, stderr: 'image stages: FAILED: line 4: RUN exit 3 exited with 3\n' })
})

t.test('an instruction the script does not know fails the run, so the Dockerfile cannot outgrow it unseen', async (t) => {
  const folder = context(t, { Dockerfile: DOCKERFILE.replace('EXPOSE 3000', 'ONBUILD RUN x') })
  t.match(stages(folder), { status: 1, stderr: 'image stages: FAILED: line 13: ONBUILD is not known to scripts/image-stages.ts\n' })
})
