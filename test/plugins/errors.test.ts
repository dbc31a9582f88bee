import t from 'tap'
import { HttpError } from '../../src/errors.js'
import { HasherBusyError } from '../../src/passwords.js'
import { DatabaseUnavailableError } from '../../src/store/errors.js'
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

// API.md "Several instances": while the database cannot be reached, 503 with Retry-After.
t.test('a database fault answers 503 with Retry-After and a generic message, and logs its detail', async (t) => {
  const { app, lines } = buildLoggedApp(t)
  throwing(app, () => Object.assign(new DatabaseUnavailableError('connection to 10.0.0.5 refused'),
    { headers: { 'x-upstream': 'kept out' } }))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.headers['x-upstream'], undefined)
  t.match(res.json(), { statusCode: 503, error: 'Service Unavailable', message: /^Something went wrong; quote request id req-\w+$/ })
  t.notMatch(res.body, /10\.0\.0\.5|refused/)
  t.match((lines().find((line) => line.level === 50)?.err as { message?: string }).message, /10\.0\.0\.5/)
})

// API.md "Tokens": the excess of password work gets 503 with Retry-After, logged as shed load.
t.test('a busy password hasher answers 503 with Retry-After and logs a warning', async (t) => {
  const { app, lines } = buildLoggedApp(t)
  throwing(app, () => new HasherBusyError())
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.same(res.json(), { statusCode: 503, error: 'Service Unavailable', message: 'Too many password operations at once; retry shortly' })
  t.same(lines().filter((line) => line.level >= 40).map((line) => line.msg), ['request shed: too many password operations at once'])
})

// API.md "Authentication and authorization": Fastify's shape, whose `error` is the status's reason phrase.
t.test('a 4xx names its status\'s reason phrase, or "Error" for a status without one', async (t) => {
  const { app } = buildLoggedApp(t)
  let statusCode = 422
  throwing(app, () => new HttpError(statusCode, 'Nope'))
  t.same((await app.inject({ method: 'GET', url: '/boom' })).json(), { statusCode: 422, error: 'Unprocessable Entity', message: 'Nope' })
  statusCode = 499
  t.same((await app.inject({ method: 'GET', url: '/boom' })).json(), { statusCode: 499, error: 'Error', message: 'Nope' })
})

t.test('a 503 thrown by other code is masked and keeps its reason phrase', async (t) => {
  const { app } = buildLoggedApp(t)
  throwing(app, () => Object.assign(new Error('pool drained at /srv'), { statusCode: 503 }))
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { statusCode: 503, error: 'Service Unavailable', message: /^Something went wrong/ })
  t.notMatch(res.body, /pool drained/)
})
