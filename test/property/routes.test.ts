import fc from 'fast-check'
import t from 'tap'
import { BOB, JOHNDOE, buildTestApp, login } from '../helper.js'

interface Operation { method: string, path: string, documented: Set<number>, takesInput: boolean }

// API.md "Routes": invalid input is a 400 and a wrong media type a 415 on every route that takes input.
const INPUT_STATUSES = [400, 415]
const KEYS = ['name', 'description', 'username', 'password', 'roles', 'email', 'full_name', 'disabled', 'current_password',
  'new_password', 'limit', 'offset', 'grant_type', 'scope', 'refresh_token', 'token', '__proto__', 'constructor']

// Issue 4.7: random bodies, queries and params on every route get only documented statuses, never a 5xx.
t.test('random bodies, queries and params on every operation get only documented statuses', async (t) => {
  const app = buildTestApp(t, { env: { TOKEN_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '100000' } })
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, { responses: Record<string, unknown>, parameters?: unknown[], requestBody?: unknown }>>
  }>()
  const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      documented: new Set(Object.keys(operation.responses).map(Number)),
      takesInput: operation.requestBody !== undefined || (operation.parameters ?? []).length > 0
    })))
  t.ok(operations.length >= 14, 'every operation is fuzzed')
  const tokens: Record<string, string> = { admin: await login(app, JOHNDOE), client: await login(app, BOB) }

  const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.constantFrom('admin', 'client', 'bob', 'items:read', '-1', '0', '1e3', '9'.repeat(30)))
  const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }))
  const objectBody = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })), value, { maxKeys: 6 })
  const body = fc.oneof(
    objectBody.map((object) => ({ type: 'application/json', payload: JSON.stringify(object) })),
    fc.jsonValue().map((json) => ({ type: 'application/json', payload: JSON.stringify(json) ?? 'null' })),
    objectBody.map((object) => ({
      type: 'application/x-www-form-urlencoded',
      payload: new URLSearchParams(Object.entries(object).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()
    })),
    fc.record({
      type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml',
        'multipart/form-data; boundary=x'),
      payload: fc.string({ maxLength: 200 })
    }),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: 'application/json', payload: Buffer.from(bytes) })),
    fc.constant(undefined)
  )
  const param = fc.oneof(fc.constantFrom('bob', 'alice', 'nobody', '1', '0', '-1', '99999999999999999999', 'me', '%', '..'),
    fc.string({ maxLength: 40 }))
  const query = fc.dictionary(fc.oneof(fc.constantFrom('limit', 'offset', 'scope'), fc.string({ maxLength: 8 })),
    fc.string({ maxLength: 12 }), { maxKeys: 3 })

  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...operations), body, query, param, fc.constantFrom('admin', 'client', 'none'),
    async (operation, sent, search, id, who) => {
      const path = operation.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(id === 'johndoe' ? 'bob' : id))
      const qs = new URLSearchParams(search).toString()
      const headers: Record<string, string> = who === 'none' ? {} : { authorization: `Bearer ${tokens[who] as string}` }
      if (sent !== undefined) headers['content-type'] = sent.type
      const res = await app.inject({
        method: operation.method as 'GET',
        url: qs === '' ? path : `${path}?${qs}`,
        headers,
        ...(sent === undefined || operation.method === 'GET' ? {} : { payload: sent.payload })
      })
      const allowed = operation.takesInput ? [...operation.documented, ...INPUT_STATUSES] : [...operation.documented]
      if (res.statusCode >= 500 || !allowed.includes(res.statusCode)) {
        throw new Error(`${operation.method} ${path}?${qs} (${who}) answered ${res.statusCode}, ` +
          `documented ${allowed.join(',')}: ${res.body.slice(0, 200)}`)
      }
    }
  ), { numRuns: 1000 })
  t.pass('only documented statuses')
})
