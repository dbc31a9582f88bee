// Runs the Dockerfile's stages without a container engine: each stage in a folder standing for its
// root, RUN lines in WORKDIR with the stage's ENV, COPY from the build context (less .dockerignore)
// or from an earlier stage's folder. Then starts the last stage's CMD as its USER, as the image
// would run, and checks it: the HEALTHCHECK passes, GET /health answers 200, the process is not
// root, no dev dependency is installed, and SIGTERM ends it with exit code 0.
// What it cannot check: the base images themselves (this machine's node and OS stand in for them).
// Usage: node --import tsx scripts/image-stages.ts [Dockerfile], as root (chown, setpriv); CI runs it from .ci/image-stages.sh.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { commandOf, dockerignore, parseDockerfile, parseEnvPairs, splitOptions, type Stage } from './dockerfile.js'

const context = resolve(dirname(process.argv[2] ?? 'Dockerfile'))
const dockerfile = resolve(process.argv[2] ?? 'Dockerfile')
const work = mkdtempSync(join(tmpdir(), 'image-stages-'))
// The final stage's user must reach its folder, as it would reach /app in the image.
chmodSync(work, 0o755)
const hostEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }

interface Ran {
  stage: Stage
  root: string
  cwd: string
  env: Record<string, string>
  user?: string
  cmd?: string[]
  healthcheck?: string[]
}

class StageError extends Error {}

function fail (message: string): never {
  throw new StageError(message)
}

/** An absolute path inside a stage, or one relative to its WORKDIR, as a path on this machine. */
function inStage (ran: Ran, path: string): string {
  return isAbsolute(path) ? join(ran.root, path) : join(ran.cwd, path)
}

/** COPY's rules: a folder's contents go into the destination; a file goes into it when it names a folder. */
function copy (from: string, to: string, intoFolder: boolean, filter?: (source: string) => boolean): void {
  if (!existsSync(from)) fail(`COPY: ${from} does not exist`)
  const target = intoFolder && !statSync(from).isDirectory() ? join(to, basename(from)) : to
  cpSync(from, target, { recursive: true, verbatimSymlinks: true, filter })
}

function runStage (stage: Stage, done: Map<string, Ran>): Ran {
  const root = join(work, stage.name)
  mkdirSync(root, { recursive: true, mode: 0o755 })
  const ran: Ran = { stage, root, cwd: root, env: {} }
  process.stdout.write(`== stage ${stage.name} (FROM ${stage.base}: this machine's Node ${process.version} stands in)\n`)
  for (const { keyword, args, line } of stage.instructions) {
    const { options, rest } = splitOptions(args)
    if (keyword === 'WORKDIR') {
      ran.cwd = inStage(ran, rest)
      mkdirSync(ran.cwd, { recursive: true, mode: 0o755 })
    } else if (keyword === 'ENV') {
      Object.assign(ran.env, parseEnvPairs(rest))
    } else if (keyword === 'COPY') {
      const paths = rest.split(/\s+/)
      const destination = paths.pop() ?? ''
      const intoFolder = paths.length > 1 || destination.endsWith('/') || destination === '.'
      for (const source of paths) {
        if (options.from !== undefined) {
          const earlier = done.get(options.from) ?? fail(`line ${line}: no stage named ${options.from}`)
          copy(inStage(earlier, source), inStage(ran, destination), intoFolder)
        } else {
          const ignoreFile = join(context, '.dockerignore')
          const ignored = dockerignore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '')
          copy(join(context, source), inStage(ran, destination), intoFolder, (path) => !ignored(relative(context, path)))
        }
      }
    } else if (keyword === 'RUN') {
      process.stdout.write(`RUN ${rest}\n`)
      const [command = '', ...argv] = commandOf(rest)
      const result = spawnSync(command, argv, { cwd: ran.cwd, env: { ...hostEnv, ...ran.env }, stdio: ['ignore', 'inherit', 'inherit'] })
      if (result.status !== 0) fail(`line ${line}: RUN ${rest} exited with ${String(result.status ?? result.signal)}`)
    } else if (keyword === 'USER') {
      ran.user = rest
    } else if (keyword === 'CMD') {
      ran.cmd = commandOf(rest)
    } else if (keyword === 'HEALTHCHECK') {
      ran.healthcheck = commandOf(rest.replace(/^CMD\s+/, ''))
    } else if (!['EXPOSE', 'VOLUME', 'LABEL', 'ARG'].includes(keyword)) {
      fail(`line ${line}: ${keyword} is not known to scripts/image-stages.ts`)
    }
  }
  done.set(stage.name, ran)
  return ran
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

/** argv run as `user` (uid:gid) when this process is root, as the image's USER line would. */
function asUser (user: string | undefined, argv: string[]): string[] {
  if (user === undefined || process.getuid?.() !== 0) return argv
  const [uid = '', gid = uid] = user.split(':')
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) fail(`USER ${user}: give numbers (uid:gid), so that runAsNonRoot can check them`)
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...argv]
}

async function main (): Promise<void> {
  const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'))
  const done = new Map<string, Ran>()
  let last: Ran | undefined
  for (const stage of stages) last = runStage(stage, done)
  if (last?.cmd === undefined) fail('the last stage has no CMD')
  if (last.healthcheck === undefined) fail('the last stage has no HEALTHCHECK')

  const packageJson = JSON.parse(readFileSync(join(last.cwd, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> }
  const devInstalled = Object.keys(packageJson.devDependencies ?? {}).filter((name) => existsSync(join(last.cwd, 'node_modules', name)))
  if (devInstalled.length > 0) fail(`dev dependencies in the final stage: ${devInstalled.join(', ')}`)

  // As `docker run -e JWT_SECRET=... -p 127.0.0.1:PORT:PORT` would; HOST stays on loopback here.
  const env = {
    ...hostEnv,
    HOME: '/',
    ...last.env,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    JWT_SECRET: randomBytes(32).toString('hex')
  }
  process.stdout.write(`== CMD ${JSON.stringify(last.cmd)} as ${last.user ?? 'root'} in ${last.cwd}, PORT=${env.PORT}\n`)
  const [command = '', ...argv] = asUser(last.user, last.cmd)
  const server = spawn(command, argv, { cwd: last.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(server, 'exit').then(([code]) => code as number | null)
  try {
    const [check = '', ...checkArgv] = asUser(last.user, last.healthcheck)
    let healthy = false
    for (let attempt = 0; attempt < 60 && !healthy; attempt++) {
      await sleep(250)
      healthy = spawnSync(check, checkArgv, { cwd: last.cwd, env, stdio: 'ignore' }).status === 0
    }
    if (!healthy) fail(`the HEALTHCHECK did not pass within 15 s. Server output:\n${output}`)
    const res = await fetch(`http://127.0.0.1:${env.PORT}/health`)
    const body = await res.text()
    if (res.status !== 200 || body !== '{"status":"ok"}') fail(`GET /health answered ${res.status} ${body}`)
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid ?? 0}/status`, 'utf8'))?.[1]
    if (uid === '0') fail('the server runs as root')
    const owner = statSync(join(last.cwd, 'data')).uid
    if (String(owner) !== uid) fail(`data/ belongs to uid ${owner}, the server runs as ${String(uid)}`)
    server.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout')])
    if (code !== 0) fail(`SIGTERM: exit ${String(code)} (10 s at most). Server output:\n${output}`)
    process.stdout.write(`image stages: passed (HEALTHCHECK and GET /health 200 as uid ${String(uid)}, ` +
      'no dev dependency, exit 0 on SIGTERM)\n')
  } finally {
    server.kill('SIGKILL')
  }
}

try {
  await main()
} catch (err) {
  process.stderr.write(`image stages: FAILED: ${err instanceof StageError ? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  rmSync(work, { recursive: true, force: true })
}
