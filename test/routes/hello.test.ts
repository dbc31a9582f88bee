import t from 'tap'
import { BOB, JOHNDOE, buildTestApp, call, login } from '../helper.js'

// API.md "Routes": /admin-only (roles admin), /client-only (roles client).
t.test('GET /admin-only greets an admin and refuses a client with 403', async (t) => {
  const app = buildTestApp(t)
  const admin = await call(app, await login(app, JOHNDOE), { method: 'GET', url: '/admin-only' })
  t.equal(admin.statusCode, 200)
  t.same(admin.json(), { message: 'Hello, admin!' })
  const client = await call(app, await login(app, BOB), { method: 'GET', url: '/admin-only' })
  t.equal(client.statusCode, 403)
})

t.test('GET /client-only greets a client and refuses an admin with 403', async (t) => {
  const app = buildTestApp(t)
  const client = await call(app, await login(app, BOB), { method: 'GET', url: '/client-only' })
  t.equal(client.statusCode, 200)
  t.same(client.json(), { message: 'Hello, client!' })
  const admin = await call(app, await login(app, JOHNDOE), { method: 'GET', url: '/client-only' })
  t.equal(admin.statusCode, 403)
  t.equal(admin.headers['www-authenticate'], undefined)
})

t.test('role routes need no particular scope', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, { ...JOHNDOE, scope: 'items:read' })
  t.equal((await call(app, token, { method: 'GET', url: '/admin-only' })).statusCode, 200)
})
