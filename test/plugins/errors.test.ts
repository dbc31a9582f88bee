import t from 'tap'
import { HttpError } from '../../src/errors.js'
import { buildLoggedApp } from '../logs.js'

function throwing (app: ReturnType<typeof buildLoggedApp>['app'], make: () => Error): void {
  app.register(async (scoped) => {
    scoped.get('/boom', { config: { public: true } }, async () => { throw make() })
  })
}

// Issue 4.4: 5xx answers carry a generic message and the request id, never a stack or internal detail.
t.test('an unexpected error answers 500 with a generic message naming the request id', async (t) => {
  const { app, lines } = buildLoggedApp(t)
  throwing(app, () => new Error('SELECT password_hash FROM users at /srv/secret/path'))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  const body = res.json()
  t.match(body.message, /^Something went wrong; quote request id (req-\w+)$/)
  t.same(body, { statusCode: 500, error: 'Internal Server Error', message: body.message })
  t.notMatch(res.body, /SELECT|secret|\n\s+at /)
  const requestId = /request id (\S+)$/.exec(body.message)?.[1]
  const logged = lines().find((line) => line.level === 50)
  t.equal(logged?.reqId, requestId, 'the log line carries the id the client quotes')
  t.match((logged?.err as { message?: string }).message, /SELECT password_hash/, 'the detail goes to the log only')
})

t.test('a 5xx with its own status and message is masked too', async (t) => {
  const { app } = buildLoggedApp(t)
  throwing(app, () => Object.assign(new Error('upstream said: key=abc'), { statusCode: 502 }))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'Internal Server Error')
  t.notMatch(res.body, /upstream|key=abc/)
})

t.test('an error with a status outside 400..599 becomes a 500', async (t) => {
  const { app } = buildLoggedApp(t)
  throwing(app, () => Object.assign(new Error('odd'), { statusCode: 302 }))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /odd/)
})

t.test('a 4xx keeps its message and headers in Fastify shape', async (t) => {
  const { app } = buildLoggedApp(t)
  throwing(app, () => new HttpError(409, 'Taken', { 'x-why': 'test' }))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 409)
  t.equal(res.headers['x-why'], 'test')
  t.same(res.json(), { statusCode: 409, error: 'Conflict', message: 'Taken' })
})
