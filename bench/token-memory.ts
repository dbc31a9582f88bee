// What the verified-token map of plugins/auth.ts costs in memory (issue 13.3), measured in-process:
// `node --expose-gc dist/bench/token-memory.js` (npm run bench:token-memory). Tokens are issued by
// the app's own TokenService and presented as the guard presents them: sliced out of a fresh
// "Bearer ..." header, which each kept token keeps alive, as a request's header string would be.
import { VERIFIED_TOKENS_KEPT } from '../plugins/auth.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { scopesFor } from '../src/policy.js'
import { bearerToken, newLoginId } from '../src/tokens.js'

/** The map's size limit: filled once, not past it. */
const ENTRIES = VERIFIED_TOKENS_KEPT
const REPORTED = 20_000

function heapAfterGc (): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

async function main (): Promise<void> {
  const config = loadConfig({ DATABASE_PATH: ':memory:', JWT_SECRET: 'x'.repeat(32), DEMO_USERS: 'false' })
  const app = buildApp({ config, logger: false, hashCost: 'test' })
  await app.ready()
  const tokens = Array.from({ length: ENTRIES }, (_, i) => app.tokens.issueAccessToken({
    username: `bench-user-${String(i).padStart(5, '0')}`,
    roles: ['admin'],
    scopes: scopesFor(['admin']),
    generation: 0,
    loginId: newLoginId()
  }).token)
  const before = heapAfterGc()
  for (const token of tokens) {
    const lookup = bearerToken(`Bearer ${token}`)
    if (lookup.kind !== 'token') throw new Error('not a bearer token')
    app.tokens.verifyAccessToken(lookup.token)
  }
  const perEntry = (heapAfterGc() - before) / ENTRIES
  const length = tokens[0]?.length ?? 0
  const mib = (entries: number): string => (perEntry * entries / 2 ** 20).toFixed(1)
  process.stdout.write(`${ENTRIES} verified tokens of ${length} characters kept: ${mib(ENTRIES)} MiB of heap, ` +
    `${Math.round(perEntry)} bytes each; ${REPORTED} entries would take ${mib(REPORTED)} MiB\n`)
  await app.close()
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
