import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { AccessLog, lazyChildLogger } from '../../plugins/access-log.js'
import { JOHNDOE, TEST_ENV, call, login } from '../helper.js'
import type { LogLine } from '../logs.js'

const INFO = 30

/** An app logging at `level`, as `LOG_LEVEL` sets it, whose lines are kept; `start` boots it and forgets the start-up lines. */
function loggedApp (t: { teardown (fn: () => unknown): void }, level: string):
{ app: FastifyInstance, lines: () => LogLine[], start: () => Promise<void> } {
  const raw: string[] = []
  const app = buildApp({
    config: loadConfig({ ...TEST_ENV, LOG_LEVEL: level }),
    logger: { stream: { write: (line: string) => { raw.push(line) } } },
    hashCost: 'test'
  })
  t.teardown(async () => await app.close())
  return {
    app,
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
    start: async () => {
      await app.ready()
      raw.length = 0
    }
  }
}

// Issue 13.1: one access line per request at the default level, with method, URL, route, status, time, reqId and user.
t.test('a request writes exactly one line at info: the access line, with who asked for what and how it went', async (t) => {
  const { app, lines, start } = loggedApp(t, 'info')
  await start()
  const token = await login(app, JOHNDOE)
  const loginLines = lines().length
  const res = await call(app, token, { method: 'GET', url: '/admin-only' })
  t.equal(res.statusCode, 200)
  const logged = lines().slice(loginLines)
  t.equal(logged.length, 1, 'one line')
  t.match(logged[0], {
    level: INFO,
    msg: 'request completed',
    reqId: String,
    method: 'GET',
    url: '/admin-only',
    route: '/admin-only',
    statusCode: 200,
    responseTime: Number,
    user: 'johndoe'
  })
  t.ok((logged[0]?.responseTime as number) >= 0)
  t.notOk('req' in (logged[0] as object) || 'res' in (logged[0] as object), 'no serialized request or reply objects')
})

t.test('the access line of a refused, public or unknown request has no user, and scrubbed credentials', async (t) => {
  const { app, lines } = loggedApp(t, 'info')
  const token = await login(app, JOHNDOE)
  const cases = [
    { url: '/health', statusCode: 200, route: '/health' },
    { url: '/no-such-path?limit=2', statusCode: 404, route: undefined },
    { url: `/users/me?access_token=${token}`, statusCode: 401, route: '/users/me' }
  ]
  for (const { url, statusCode } of cases) t.equal((await app.inject({ method: 'GET', url })).statusCode, statusCode)
  const access = lines().filter((line) => line.msg === 'request completed').slice(-3)
  t.same(access.map(({ url, statusCode, route, user }) => ({ url, statusCode, route, user })), [
    { url: '/health', statusCode: 200, route: '/health', user: undefined },
    { url: '/no-such-path?limit=2', statusCode: 404, route: undefined, user: undefined },
    { url: '/users/me?access_token=[redacted]', statusCode: 401, route: '/users/me', user: undefined }
  ])
  t.equal(new Set(access.map((line) => line.reqId)).size, 3, 'each has its own reqId')
  t.notOk(JSON.stringify(lines()).includes(token), 'the token is not logged')
})

t.test('at debug the request is also logged on arrival, before the access line', async (t) => {
  const { app, lines, start } = loggedApp(t, 'debug')
  await start()
  await app.inject({ method: 'GET', url: '/health?token=abc' })
  const logged = lines()
  t.same(logged.map((line) => line.msg), ['incoming request', 'request completed'])
  t.match(logged[0], { level: 20, reqId: logged[1]?.reqId, req: { method: 'GET', url: '/health?token=[redacted]' } })
})

t.test('at warn a request that goes well writes nothing', async (t) => {
  const { app, lines, start } = loggedApp(t, 'warn')
  await start()
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  t.same(lines(), [])
})

// Handler and error logs must still be tied to the access line by reqId.
t.test('request.log carries the reqId of the access line, at the levels that are on', async (t) => {
  const { app, lines, start } = loggedApp(t, 'info')
  app.register(async (scoped) => {
    scoped.get('/talk', { config: { public: true } }, async (request) => {
      request.log.debug('not written at info')
      request.log.trace('nor this')
      request.log.info({ step: 1 }, 'handler says %s', 'hello')
      request.log.warn('careful')
      request.log.error(new Error('boom'), 'failed once')
      request.log.fatal('the end')
      request.log.silent('never')
      const log = request.log as unknown as { isLevelEnabled (l: string): boolean }
      return { level: request.log.level, debug: log.isLevelEnabled('debug') }
    })
  })
  await start()
  const res = await app.inject({ method: 'GET', url: '/talk' })
  t.same(res.json(), { level: 'info', debug: false })
  const logged = lines()
  const reqId = logged.at(-1)?.reqId
  t.ok(typeof reqId === 'string')
  t.same(logged.map(({ msg, level }) => [msg, level]), [
    ['handler says hello', 30], ['careful', 40], ['failed once', 50], ['the end', 60], ['request completed', 30]
  ])
  t.ok(logged.every((line) => line.reqId === reqId), 'every line has the request\'s id')
  t.match(logged[0], { step: 1 })
  t.match(logged[2], { err: { message: 'boom' } })
})

t.test('request.log builds its child on demand: level changes, isLevelEnabled and children behave as pino\'s', async (t) => {
  const { app, lines, start } = loggedApp(t, 'info')
  app.register(async (scoped) => {
    scoped.get('/louder', { config: { public: true } }, async (request) => {
      const log = request.log as unknown as { level: string, isLevelEnabled (l: string): boolean }
      const before = [log.level, log.isLevelEnabled('debug')]
      log.level = 'debug'
      request.log.debug('now written')
      request.log.child({ part: 'inner' }).info('from a child')
      return { before, after: log.isLevelEnabled('debug'), level: log.level }
    })
    // A route's own logLevel makes Fastify ask for a child with that level: built at once.
    scoped.get('/quiet', { config: { public: true }, logLevel: 'error' }, async (request) => {
      request.log.warn('dropped')
      request.log.error('kept')
      return {}
    })
  })
  await start()
  t.same((await app.inject({ method: 'GET', url: '/louder' })).json(), { before: ['info', false], after: true, level: 'debug' })
  await app.inject({ method: 'GET', url: '/quiet' })
  const logged = lines()
  // A route quieter than info writes no access line, as with Fastify's own request logs.
  t.same(logged.map((line) => line.msg), ['now written', 'from a child', 'request completed', 'kept'])
  t.match(logged[1], { part: 'inner', reqId: logged[0]?.reqId })
  t.equal(app.log.level, 'info', 'the app\'s level is unchanged')
})

t.test('a response that fails on the wire is logged as an error with its reqId', async (t) => {
  const { app, lines, start } = loggedApp(t, 'info')
  app.register(async (scoped) => {
    scoped.get('/wire', { config: { public: true } }, async (request, reply) => {
      new AccessLog().requestCompleted(new Error('socket hang up'), request, reply)
      return {}
    })
  })
  await start()
  await app.inject({ method: 'GET', url: '/wire' })
  const errored = lines().find((line) => line.msg === 'request errored')
  t.match(errored, { level: 50, err: { message: 'socket hang up' }, reqId: String })
})

t.test('without a logger, Fastify gets neither seam', async (t) => {
  const app = buildApp({ config: loadConfig(TEST_ENV), logger: false, hashCost: 'test' })
  t.teardown(async () => await app.close())
  t.not(app.childLoggerFactory, lazyChildLogger)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
})
