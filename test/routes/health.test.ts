import t from 'tap'
import { buildTestApp } from '../helper.js'

// API.md "Routes": GET /health, GET /ready.
t.test('GET /health answers 200 {"status":"ok"} without a token', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /ready answers 200 while the database answers', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /ready answers 503 when the database does not answer', async (t) => {
  const app = buildTestApp(t)
  await app.ready()
  app.db.close()
  const res = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1', 'API.md "Several instances": 503 with Retry-After')
  t.same(res.json(), { status: 'unavailable' })
})
