import { readFileSync } from 'node:fs'
import t from 'tap'
import { launchFlags } from '../../bench/soak-report.js'
import { commandOf, dockerignore, parseDockerfile, parseEnvPairs, splitOptions } from '../../scripts/dockerfile.js'

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const npmStart = (): string => (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start

t.test('parseDockerfile splits stages, names them, joins continued lines and drops comments', async (t) => {
  const stages = parseDockerfile('# c\nFROM a AS build\nRUN x \\\n  y\n\nFROM b\n# d\nCMD ["n"]\n')
  t.same(stages, [
    { name: 'build', base: 'a', instructions: [{ keyword: 'RUN', args: 'x y', line: 3 }] },
    { name: '1', base: 'b', instructions: [{ keyword: 'CMD', args: '["n"]', line: 8 }] }
  ])
  t.throws(() => parseDockerfile('RUN x\n'), /line 1: RUN before FROM/)
})

t.test('parseEnvPairs reads KEY=value pairs, quoted or not, and refuses anything else', async (t) => {
  t.same(parseEnvPairs('A=1 B="x \\"y\\"" C='), { A: '1', B: 'x "y"', C: '' })
  t.throws(() => parseEnvPairs('A 1'), /expected KEY=value pairs/)
  t.throws(() => parseEnvPairs(''), /expected KEY=value pairs/)
})

t.test('splitOptions takes --name=value options off the front', async (t) => {
  t.same(splitOptions('--from=build --chown=1:1 /a ./b'), { options: { from: 'build', chown: '1:1' }, rest: '/a ./b' })
  t.same(splitOptions('npm ci'), { options: {}, rest: 'npm ci' })
})

t.test('commandOf reads the exec form as argv and runs the shell form with sh -c', async (t) => {
  t.same(commandOf('["node", "x.js"]'), ['node', 'x.js'])
  t.same(commandOf('npm ci && echo'), ['/bin/sh', '-c', 'npm ci && echo'])
  t.throws(() => commandOf('[1]'), /not an exec form/)
  t.throws(() => commandOf('[]'), /not an exec form/)
})

t.test('dockerignore matches from the context root, whole folders, globs and exceptions', async (t) => {
  const ignored = dockerignore('# c\nnode_modules\n/dist/\n*.log\n**/*.tmp\ndocs\n!docs/keep.md\n')
  t.same(['node_modules', 'node_modules/a/b.js', 'dist/src/x.js', 'x.log', 'a.tmp', 'a/b/c.tmp',
    'docs/a.md'].filter((p) => !ignored(p)), [])
  t.same(['src/node_modules.ts', 'a/x.log', 'docs/keep.md', 'src/x.ts', ''].filter(ignored), [])
})

// Issue 14 "A production image". The stages themselves run on CI (.ci/image-stages.sh); these are the rules.
t.test('the Dockerfile builds with dev dependencies and runs the pruned result, as uid 1000, with node', async (t) => {
  const [build, runtime, extra] = parseDockerfile(read('Dockerfile'))
  t.equal(extra, undefined, 'two stages')
  const runs = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)
  t.same(runs, ['npm ci --no-audit --no-fund', 'npm prune --omit=dev --no-audit --no-fund'])
  const last = (keyword: string): string => runtime?.instructions.filter((i) => i.keyword === keyword).pop()?.args ?? ''
  t.equal(last('USER'), '1000:1000')
  // npm start's node flags but the .env file, which the image takes from `docker run -e` instead.
  const startFlags = launchFlags(npmStart())
  t.ok(startFlags.includes('--max-old-space-size=512') && startFlags.includes('--no-incremental-marking-task'), startFlags.join(' '))
  t.same(commandOf(last('CMD')), ['node', ...startFlags, 'dist/src/main.cjs'])
  t.match(last('HEALTHCHECK'), /^--interval=\S+ .*CMD \[.*\/health/)
  t.ok(runtime?.instructions.filter((i) => i.keyword === 'COPY').every((i) => i.args.startsWith('--from=build ')),
    'the last stage copies only from the build')
})

t.test('the image sets what npm start sets, and listens on every address', async (t) => {
  const runtime = parseDockerfile(read('Dockerfile'))[1]
  const env = Object.assign({},
    ...(runtime?.instructions ?? []).filter((i) => i.keyword === 'ENV').map((i) => parseEnvPairs(i.args))) as Record<string, string>
  const start = npmStart()
  t.match(env, { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000', UV_THREADPOOL_SIZE: /^\d+$/ })
  t.equal(`MALLOC_MMAP_THRESHOLD_=${env.MALLOC_MMAP_THRESHOLD_ ?? ''}`, /MALLOC_MMAP_THRESHOLD_=\d+/.exec(start)?.[0])
})

t.test('.dockerignore keeps secrets, local builds and data out of the context', async (t) => {
  const ignored = dockerignore(read('.dockerignore'))
  t.same(['.env', '.git', 'node_modules', 'dist', 'data/app.db', '.tap/x', 'coverage'].filter((p) => !ignored(p)), [])
  t.same(['package.json', 'package-lock.json', 'src/main.cts', 'scripts/prepare.js', '.env.example', 'tsconfig.json'].filter(ignored), [])
})
