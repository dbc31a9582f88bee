import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, JOHNDOE, buildTestApp, call, login } from '../helper.js'

// API.md "Policy": each route declares config.roles (the user needs at least one of them) and/or
// config.scopes (the token needs all of them). No route of the API declares two of either, so these
// test-only routes do, registered inside a plugin so that the auth plugin's onRoute hook guards them.
function withTwoOfEach (app: FastifyInstance): FastifyInstance {
  app.register(async (scoped) => {
    scoped.get('/two-scopes', { config: { scopes: ['items:read', 'items:write'] } }, async () => ({ ok: true }))
    scoped.get('/two-roles', { config: { roles: ['admin', 'client'] } }, async () => ({ ok: true }))
  })
  return app
}

// API.md "Authentication and authorization", row 4, and RFC 6750 §3: scope="..." is space-delimited.
t.test('a route needing two scopes refuses a token holding only one, naming both scopes space-delimited', async (t) => {
  const app = withTwoOfEach(buildTestApp(t))
  for (const scope of ['items:read', 'items:write']) {
    const res = await call(app, await login(app, { ...BOB, scope }), { method: 'GET', url: '/two-scopes' })
    t.equal(res.statusCode, 403, `only ${scope}`)
    t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items:read items:write"')
    t.same(res.json(), { statusCode: 403, error: 'Forbidden', message: 'The access token lacks a required scope' })
  }
  const both = await call(app, await login(app, { ...BOB, scope: 'items:write items:read' }), { method: 'GET', url: '/two-scopes' })
  t.equal(both.statusCode, 200, 'both scopes')
  t.same(both.json(), { ok: true })
})

// API.md "Authentication and authorization", row 5: 403 only when the user lacks every required role.
t.test('a route open to two roles admits a user holding either one, and refuses a user holding neither', async (t) => {
  const app = withTwoOfEach(buildTestApp(t))
  const admin = await login(app, JOHNDOE)
  for (const [name, token] of [['client bob', await login(app, BOB)], ['admin johndoe', admin]] as const) {
    const res = await call(app, token, { method: 'GET', url: '/two-roles' })
    t.equal(res.statusCode, 200, name)
    t.same(res.json(), { ok: true })
  }
  const created = await call(app, admin, {
    method: 'POST',
    url: '/users',
    payload: {
      username: 'nobody',
      password: 'no roles at all',
      roles: []
    }
  })
  t.equal(created.statusCode, 201)
  const res = await call(app, await login(app, { username: 'nobody', password: 'no roles at all' }), { method: 'GET', url: '/two-roles' })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], undefined)
  t.same(res.json(), { statusCode: 403, error: 'Forbidden', message: 'Your roles do not allow this' })
})
