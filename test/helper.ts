import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long'
export const TEST_ENV: Record<string, string> = {
  DATABASE_PATH: ':memory:',
  JWT_SECRET: TEST_SECRET,
  DEMO_USERS: 'true',
  LOG_LEVEL: 'silent'
}

// What must never reach a response body: password hashes (argon2, bcrypt), the signing secret, stack traces.
const LEAKS = [/\$argon2id?\$/, /\$2[aby]\$\d\d\$/, new RegExp(TEST_SECRET), /password_hash/, /\n\s+at /, /token_generation/]

/** Throws when a body carries a secret; buildTestApp runs it on every response of the suite. */
export function assertNoLeak (body: string): void {
  for (const pattern of LEAKS) {
    if (pattern.test(body)) throw new Error(`response leaks ${String(pattern)}: ${body.slice(0, 200)}`)
  }
}

interface Teardown { teardown (fn: () => unknown): void }

/** Wraps the named methods of `object` so a test can count their calls, all of them together. */
export function countCalls<T extends object> (object: T, ...methods: Array<keyof T>): { readonly calls: number } {
  const counter = { calls: 0 }
  for (const method of methods) {
    const original = object[method] as (...args: unknown[]) => unknown
    object[method] = ((...args: unknown[]) => {
      counter.calls++
      return original.apply(object, args)
    }) as T[keyof T]
  }
  return counter
}

export interface TestAppOptions {
  env?: Record<string, string>
  now?: () => number
}

/** A fresh app on its own in-memory database, closed when the test ends. */
export function buildTestApp (t: Teardown, { env = {}, now }: TestAppOptions = {}): FastifyInstance {
  const app = buildApp({ config: loadConfig({ ...TEST_ENV, ...env }), logger: false, hashCost: 'test', now })
  // Every response body the suite produces is checked; a leak turns the answer into a failure.
  app.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload === 'string') assertNoLeak(payload)
    return payload
  })
  t.teardown(async () => await app.close())
  return app
}

export interface Credentials { username: string, password: string, scope?: string }

export const JOHNDOE: Credentials = { username: 'johndoe', password: 'secret' }
export const BOB: Credentials = { username: 'bob', password: 'secret3' }
export const ALICE: Credentials = { username: 'alice', password: 'secretalice' }

/** POST /token with a form; fields that are undefined are left out. */
export async function tokenRequest (
  app: FastifyInstance, form: object, headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  const fields = Object.entries(form).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
  return await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString()
  })
}

/** Logs in through the real POST /token and returns the access token. */
export async function login (app: FastifyInstance, credentials: Credentials): Promise<string> {
  const res = await tokenRequest(app, credentials)
  if (res.statusCode !== 200) throw new Error(`login as ${credentials.username} failed: ${res.statusCode} ${res.body}`)
  return res.json<{ access_token: string }>().access_token
}

/** inject() with a bearer token. */
export async function call (app: FastifyInstance, token: string | undefined, options: InjectOptions): Promise<LightMyRequestResponse> {
  const headers = { ...options.headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
  return await app.inject({ ...options, headers })
}
