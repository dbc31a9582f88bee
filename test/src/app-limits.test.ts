import { once } from 'node:events'
import { request } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { BOB, JOHNDOE, TEST_SECRET, buildTestApp, call, login } from '../helper.js'

const MiB = 1024 * 1024

// Issue 4.3: body limit 1 MiB → 413.
t.test('a JSON body over 1 MiB answers 413 in Fastify shape', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'POST',
    url: '/items',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'big', description: 'x'.repeat(MiB) })
  })
  t.equal(res.statusCode, 413)
  t.same(res.json(), { statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' })
})

t.test('a form body over 1 MiB at /token answers 413 with an OAuth2 error body', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `username=bob&password=secret3&pad=${'x'.repeat(MiB)}`
  })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), { error: 'invalid_request', error_description: 'Request body is too large' })
})

t.test('a body just under 1 MiB is read', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'POST',
    url: '/items',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'n', description: 'x'.repeat(1001), pad: 'y'.repeat(MiB - 2000) })
  })
  t.equal(res.statusCode, 400, 'read and validated (unknown property), not refused as too large')
})

// Issue 4.3: token length; API.md "Authentication": malformed → 401 invalid_token.
t.test('a 10 kB bearer token answers 401 invalid_token before any verification', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  const now = Math.floor(Date.now() / 1000)
  // Validly signed, so only the length check can refuse it.
  const huge = createSigner({ key: TEST_SECRET, algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } })({
    iss: 'http://127.0.0.1:3000',
    aud: 'http://127.0.0.1:3000',
    sub: 'johndoe',
    iat: now,
    exp: now + 600,
    jti: '0.login.abc',
    scope: 'items:read',
    roles: ['admin'],
    pad: 'x'.repeat(10_000)
  })
  const res = await call(app, huge, { method: 'GET', url: '/users/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token is too long"')
})

// Node's maxHeaderSize (16 KiB): what a real socket sees.
t.test('over a real socket, a 10 kB token is a 401 and a 20 kB header a 431, never a 5xx', async (t) => {
  const app = buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo

  const req = request({ host: '127.0.0.1', port, path: '/users/me', headers: { authorization: `Bearer ${'a'.repeat(10_000)}` } })
  req.end()
  const [res] = await once(req, 'response') as [import('node:http').IncomingMessage]
  res.resume()
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /invalid_token/)

  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.end(`GET /users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`)
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  await once(socket, 'close')
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /"statusCode":431/)
})

// API.md "Tokens" and "Routes": passwords 1..1024 at /token, 8..1024 for new ones.
t.test('new passwords of 8 and 1024 characters are taken, 7 and 1025 refused with 400', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  const create = async (username: string, password: string) => await call(app, token, {
    method: 'POST', url: '/users', payload: { username, password, roles: ['client'] }
  })
  t.equal((await create('eight', 'x'.repeat(8))).statusCode, 201)
  t.equal((await create('longest', 'x'.repeat(1024))).statusCode, 201)
  const short = await create('seven', 'x'.repeat(7))
  t.equal(short.statusCode, 400)
  t.equal(short.json().message, 'body/password must NOT have fewer than 8 characters')
  t.equal((await create('toolong', 'x'.repeat(1025))).statusCode, 400)
  const patch = await call(app, token, { method: 'PATCH', url: '/users/bob', payload: { password: 'x'.repeat(1025) } })
  t.equal(patch.statusCode, 400)
  t.equal(patch.json().message, 'body/password must NOT have more than 1024 characters')
})
