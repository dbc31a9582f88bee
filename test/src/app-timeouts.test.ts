import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, KEEP_ALIVE_TIMEOUT, REQUEST_TIMEOUT, type AppOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TEST_ENV } from '../helper.js'

// These talk to a real listening server: timeouts live in Node's HTTP server, which inject() bypasses.
const SHORT = 300

async function listen (t: Test, options: Partial<AppOptions> = {}): Promise<{ app: FastifyInstance, port: number }> {
  const app = buildApp({ config: loadConfig(TEST_ENV), logger: false, hashCost: 'test', ...options })
  t.teardown(async () => await app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, port: address.port }
}

interface Ended { received: string, closedAfter: number }

/** Opens a connection, writes `chunks` (then nothing more), and resolves once the server closes it. */
async function closedByServer (t: Test, port: number, chunks: string[]): Promise<Ended> {
  const socket: Socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  const started = Date.now()
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  for (const chunk of chunks) socket.write(chunk)
  // The test's own deadline, far above the timeouts under test: a server that never closes fails here.
  const guard = setTimeout(() => socket.destroy(new Error('the server kept the connection open')), 10_000)
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => { resolve() })
    socket.once('error', reject)
  })
  clearTimeout(guard)
  return { received, closedAfter: Date.now() - started }
}

const HALF_TOKEN_BODY = [
  'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n',
  'grant_type=password&username=bob'
]

// API.md "Running": headers and body not fully arrived within the timeout → 408, connection closed.
t.test('a /token body that stops half way is answered 408 and its connection closed', async (t) => {
  const { port } = await listen(t, { requestTimeout: SHORT })
  const { received, closedAfter } = await closedByServer(t, port, HALF_TOKEN_BODY)
  t.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))
  t.same(body, { error: 'Request Timeout', message: 'Client Timeout', statusCode: 408 })
  t.ok(closedAfter >= SHORT, `not before the timeout (${closedAfter} ms)`)
})

t.test('forty half-sent /token bodies are all answered 408 and closed', async (t) => {
  const { port } = await listen(t, { requestTimeout: SHORT })
  const ended = await Promise.all(Array.from({ length: 40 }, async () => await closedByServer(t, port, HALF_TOKEN_BODY)))
  t.equal(ended.filter(({ received }) => received.startsWith('HTTP/1.1 408 ')).length, 40)
})

t.test('headers that stop half way are answered 408 and their connection closed', async (t) => {
  const { port } = await listen(t, { requestTimeout: SHORT })
  const { received } = await closedByServer(t, port, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '])
  t.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n/)
})

t.test('headers trickled a byte at a time past the timeout are answered 408', async (t) => {
  const { port } = await listen(t, { requestTimeout: SHORT })
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  // Keeps the connection busy (so no idle timeout applies) while the request never completes.
  const trickle = setInterval(() => socket.write('a'), 50)
  t.teardown(() => clearInterval(trickle))
  socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  await new Promise((resolve) => socket.once('close', resolve))
  t.match(received, /^HTTP\/1\.1 408 /)
})

t.test('a request that arrives in pieces within the timeout is answered normally', async (t) => {
  const { port } = await listen(t, { requestTimeout: 2_000 })
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.write('Connection: close\r\n\r\n')
  await new Promise((resolve) => socket.once('close', resolve))
  t.match(received, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(received, /\{"status":"ok"\}$/)
})

t.test('a connection that never sends a byte is answered 408 and closed', async (t) => {
  const { port } = await listen(t, { requestTimeout: SHORT })
  const { received, closedAfter } = await closedByServer(t, port, [])
  t.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  t.ok(closedAfter >= SHORT, `not before the timeout (${closedAfter} ms)`)
})

t.test('a connection silent for connectionTimeout is closed, even within the request timeout', async (t) => {
  const { port } = await listen(t, { connectionTimeout: SHORT })
  const { received, closedAfter } = await closedByServer(t, port, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'])
  t.equal(received, '', 'closed without an answer')
  t.ok(closedAfter >= SHORT - 50 && closedAfter < REQUEST_TIMEOUT, `after about ${SHORT} ms (${closedAfter} ms)`)
})

t.test('an idle keep-alive connection is closed after keepAliveTimeout', async (t) => {
  const { port } = await listen(t, { keepAliveTimeout: SHORT })
  const { received } = await closedByServer(t, port, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'])
  t.match(received, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(received, /\r\nKeep-Alive: timeout=\d+\r\n/i, 'the client is told')
  t.match(received, /\{"status":"ok"\}$/, 'one answer, then the close')
})

// API.md "Running": 30 s for headers and body; the defaults are what src/server.ts runs with.
t.test('the server runs with a 30 s request timeout, checked every second, and bounded idle connections', async (t) => {
  const { app } = await listen(t)
  t.equal(REQUEST_TIMEOUT, 30_000)
  t.equal(KEEP_ALIVE_TIMEOUT, 72_000)
  t.equal(app.server.requestTimeout, 30_000)
  t.equal(app.server.headersTimeout, 30_000)
  t.equal((app.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 1_000)
  t.equal(app.server.timeout, 60_000, 'a connection silent both ways')
  t.equal(app.server.keepAliveTimeout, 72_000)
  t.same([app.initialConfig.connectionTimeout, app.initialConfig.keepAliveTimeout], [60_000, 72_000])
})

t.test('a timeout of 0 (never), negative or fractional is refused', async (t) => {
  const config = loadConfig(TEST_ENV)
  const refused = [['requestTimeout', 0], ['keepAliveTimeout', -1], ['connectionTimeout', 1.5], ['requestTimeout', Infinity]] as const
  for (const [name, value] of refused) {
    const expected = new RangeError(`${name} must be a positive number of milliseconds`)
    t.throws(() => buildApp({ config, logger: false, [name]: value }), expected, `${name} ${value}`)
  }
})
