import { existsSync } from 'node:fs'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { listening, startServer } from '../server.js'

async function token (base: string, username: string, password: string): Promise<Response> {
  return await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) })
}

/** Whether a new TCP connection is refused; a connection accepted in the last moments before close is retried. */
async function refusesConnections (port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const socket = connect(port, '127.0.0.1')
    const outcome = await new Promise<string | undefined>((resolve) => {
      socket.once('connect', () => { resolve('connected') })
      socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code) })
    })
    socket.destroy()
    if (outcome === 'ECONNREFUSED') return true
  }
  return false
}

// API.md "Running": SIGTERM or SIGINT: stop accepting, finish what was received, close the database, exit 0
// within 10 s; data, users and tokens survive a restart.
t.test('SIGTERM finishes the request in flight, refuses new connections, closes the database, exits 0, and data survives', async (t) => {
  const path = join(t.testdir(), 'data', 'app.db')
  // At debug, the server logs each request on arrival ("incoming request"), which says the one below was received.
  const first = startServer({ DATABASE_PATH: path, LOG_LEVEL: 'debug' })
  t.teardown(() => { first.child.kill('SIGKILL') })
  let base = await listening(first)
  const port = Number(new URL(base).port)
  const admin = (await (await token(base, 'johndoe', 'secret')).json() as { access_token: string }).access_token
  const created = await fetch(`${base}/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'carol', password: 'carol-password', roles: ['client'] })
  })
  t.equal(created.status, 201)
  const carol = (await (await token(base, 'carol', 'carol-password')).json() as { access_token: string }).access_token
  const item = await fetch(`${base}/items`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${carol}`,
      'content-type': 'application/json'
    },
    body: JSON.stringify({ name: 'kept' })
  })
  t.equal(item.status, 201)

  // A login whose body is still on its way: received, not finished.
  const body = 'username=johndoe&password=secret'
  const logged = first.logs.length
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
    `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`)
  let answer = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
  await first.waitForLog((line) => line.msg === 'incoming request' && (line.req as { url?: string }).url === '/token', logged)

  const signalled = Date.now()
  first.child.kill('SIGTERM')
  await first.waitForLog((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM')
  t.ok(await refusesConnections(port), 'new connections are refused')

  socket.write(body.slice(10))
  await once(socket, 'end')
  t.match(answer, /^HTTP\/1\.1 200 /, 'the request in flight got its answer')
  t.match(answer, /"access_token":"/)

  t.equal((await first.exited).code, 0)
  t.ok(Date.now() - signalled < 10_000, 'within 10 s')
  t.notOk(existsSync(`${path}-wal`), 'the database was closed (SQLite removes the WAL file on a clean close)')

  const second = startServer({ DATABASE_PATH: path })
  t.teardown(() => { second.child.kill('SIGKILL') })
  base = await listening(second)
  const again = await token(base, 'carol', 'carol-password')
  t.equal(again.status, 200, 'the user survived')
  const items = await fetch(`${base}/items`,
    { headers: { authorization: `Bearer ${(await again.json() as { access_token: string }).access_token}` } })
  t.match(await items.json(), { total: 1, items: [{ name: 'kept', owner: 'carol' }] }, 'the item survived')
  t.equal((await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${carol}` } })).status, 200,
    'a token from before the restart still works')
  second.child.kill('SIGINT')
  await second.waitForLog((line) => line.msg === 'shutting down' && line.signal === 'SIGINT')
  t.equal((await second.exited).code, 0, 'SIGINT exits 0 too')
})

t.test('a second signal exits at once, without waiting for requests in flight', async (t) => {
  const server = startServer({ DATABASE_PATH: join(t.testdir(), 'app.db'), LOG_LEVEL: 'debug' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const port = Number(new URL(await listening(server)).port)
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser')
  let answer = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
  socket.on('error', () => {})
  await server.waitForLog((line) => line.msg === 'incoming request')
  server.child.kill('SIGTERM')
  await server.waitForLog((line) => line.msg === 'shutting down')
  const signalled = Date.now()
  server.child.kill('SIGTERM')
  const { code } = await server.exited
  t.equal(code, 1)
  t.ok(Date.now() - signalled < 2000, 'at once')
  t.equal(answer, '', 'the unfinished request was abandoned')
})

// API.md "Running": a bad value stops the process with exit code 1 and one line naming the variable.
const BAD_CONFIG: Array<[string, Record<string, string>, RegExp]> = [
  ['a JWT_SECRET under 32 bytes', { JWT_SECRET: 'short' }, /^Configuration error: JWT_SECRET: must be at least 32 bytes\n$/],
  ['a METRICS_PORT equal to PORT', { PORT: '3999', METRICS_PORT: '3999' },
    /^Configuration error: METRICS_PORT: must differ from PORT \(both are 3999\)\n$/],
  ['NODE_ENV=production without a secret or key', { JWT_SECRET: '', NODE_ENV: 'production', DEMO_USERS: 'false' },
    /^Configuration error: JWT_SECRET: NODE_ENV=production needs JWT_SECRET or JWT_PRIVATE_KEY_FILE\n$/]
]
for (const [name, env, line] of BAD_CONFIG) {
  t.test(`${name} exits 1 with one line naming the variable`, async (t) => {
    const server = startServer({ DATABASE_PATH: join(t.testdir(), 'app.db'), ...env })
    const { code } = await server.exited
    t.equal(code, 1)
    t.match(server.stderr(), line)
    t.same(server.logs, [], 'nothing else is printed')
  })
}

/** A port that was free a moment ago: METRICS_PORT takes 1..65535, so the test cannot ask for 0. */
async function freePort (): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

// API.md "Running": with METRICS_PORT set, GET /metrics is served on this port of HOST, and only there.
t.test('the server serves GET /metrics on METRICS_PORT and not on the API port', async (t) => {
  const metricsPort = await freePort()
  const server = startServer({ DATABASE_PATH: join(t.testdir(), 'app.db'), METRICS_PORT: String(metricsPort) })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const base = await listening(server)
  await server.waitForLog((line) => line.msg === 'metrics served at /metrics')
  t.equal((await fetch(`${base}/health`)).status, 200)

  const api = await fetch(`${base}/metrics`)
  t.equal(api.status, 404)
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(metrics.status, 200)
  t.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  const text = await metrics.text()
  t.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} 1$/m)
  t.match(text, /^http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1$/m)
  t.match(text, /^process_resident_memory_bytes \d+$/m)

  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0, 'the metrics port does not hold the shutdown')
})

t.test('a METRICS_PORT already taken stops the start with exit code 1', async (t) => {
  const taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  t.teardown(() => { taken.close() })
  const server = startServer({ DATABASE_PATH: join(t.testdir(), 'app.db'), METRICS_PORT: String((taken.address() as AddressInfo).port) })
  t.teardown(() => { server.child.kill('SIGKILL') })
  t.equal((await server.exited).code, 1)
  const line = server.logs.find((l) => l.msg === 'could not start')
  t.match(line, { err: { code: 'EADDRINUSE' } })
})
