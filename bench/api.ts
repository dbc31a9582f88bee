// What the harness asks of our server before it measures: tokens, seeded items, and many users.
import { createSigner } from 'fast-jwt'
import { loadConfig } from '../src/config.js'
import { scopesFor } from '../src/policy.js'
import { openStore } from '../src/store/store.js'
import { ACCESS_TOKEN_TYPE, accessTokenClaims, newLoginId } from '../src/tokens.js'
import { HarnessError } from './harness-error.js'

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
export const JSON_TYPE = { 'content-type': 'application/json' }

export async function call (base: string, method: string, path: string, init: { headers?: Record<string, string>, body?: string } = {}):
Promise<{ status: number, body: string }> {
  try {
    const res = await fetch(`${base}${path}`, { method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) })
    return { status: res.status, body: await res.text() }
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err
    throw new HarnessError(`${method} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** An access token and its refresh token from the real POST /token. */
export async function loginTokens (base: string, username: string, password: string): Promise<{ access: string, refresh: string }> {
  const res = await call(base, 'POST', '/token', { headers: FORM, body: new URLSearchParams({ username, password }).toString() })
  const body = res.status === 200 ? JSON.parse(res.body) as { access_token?: unknown, refresh_token?: unknown } : {}
  if (typeof body.access_token !== 'string' || typeof body.refresh_token !== 'string') {
    throw new HarnessError(`POST /token for ${username} answered ${res.status}: ${res.body.slice(0, 300)}`)
  }
  return { access: body.access_token, refresh: body.refresh_token }
}

/** An access token from the real POST /token. */
export async function login (base: string, username: string, password: string): Promise<string> {
  return (await loginTokens(base, username, password)).access
}

export async function seedItems (base: string, authorization: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const res = await call(base, 'POST', '/items', {
      headers: { authorization, ...JSON_TYPE },
      body: JSON.stringify({ name: `seed item ${i}`, description: `seeded by the load benchmark, number ${i}` })
    })
    if (res.status !== 201) throw new HarnessError(`seeding POST /items answered ${res.status}: ${res.body.slice(0, 300)}`)
  }
}

/**
 * Issue 13.3: `count` admins, each with one access token, for the many-users scenario. The users go
 * into the running server's database through our users repository, in one transaction (with
 * johndoe's password hash: nobody logs in as them); their tokens are signed here with the server's
 * key and the claims it issues (src/tokens.ts), since 20,000 argon2 logins over HTTP would take minutes.
 */
export async function manyUsersTokens (serverEnv: NodeJS.ProcessEnv, count: number): Promise<string[]> {
  const config = loadConfig(serverEnv)
  const store = await openStore({ ...config, watchChanges: false })
  try {
    const { users } = store
    const passwordHash = (await users.find('johndoe'))?.password_hash
    if (passwordHash === undefined) throw new HarnessError('the demo user johndoe is missing')
    const names = Array.from({ length: count }, (_, i) => `bench-user-${String(i).padStart(5, '0')}`)
    const list = names.map((username) => ({ username, password_hash: passwordHash, roles: ['admin' as const] }))
    const created = await users.createMany(list, new Date())
    if (config.jwtSecret === undefined) throw new HarnessError('the server has no JWT_SECRET to sign with')
    const sign = createSigner({ key: config.jwtSecret, algorithm: 'HS256', header: { alg: 'HS256', typ: ACCESS_TOKEN_TYPE } })
    const nowSeconds = Math.floor(Date.now() / 1000)
    return created.map((user) => sign(accessTokenClaims({
      issuer: config.issuer,
      audience: config.audience,
      username: user.username,
      roles: user.roles,
      scopes: scopesFor(user.roles),
      generation: user.token_generation,
      loginId: newLoginId(),
      ttlSeconds: config.accessTokenTtl,
      nowSeconds
    })))
  } finally {
    await store.close()
  }
}
