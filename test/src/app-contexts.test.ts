import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { JOHNDOE, buildTestApp, call, login } from '../helper.js'

// src/app.ts: the route modules share one context, so every request of theirs is made by one Request
// and one Reply class (README "Load benchmark"); only routes/oauth.ts, with its own parser, error handler
// and onSend hook, keeps its own.
t.test('requests to every route module but the OAuth one are made by one Request and one Reply class', async (t) => {
  const app = buildTestApp(t)
  const classes = new Map<string, { request: unknown, reply: unknown }>()
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    classes.set(request.routeOptions.url ?? request.url, { request: Object.getPrototypeOf(request), reply: Object.getPrototypeOf(reply) })
    done()
  })
  const token = await login(app, JOHNDOE)
  const sharedRoutes = ['/health', '/admin-only', '/items', '/users/me', '/users', '/openapi.json', '/.well-known/jwks.json']
  for (const url of sharedRoutes) {
    const res = await call(app, token, { method: 'GET', url })
    t.equal(res.statusCode, 200, url)
  }
  const first = classes.get('/health')!
  for (const url of sharedRoutes) {
    t.equal(classes.get(url)?.request, first.request, `${url}: the shared Request class`)
    t.equal(classes.get(url)?.reply, first.reply, `${url}: the shared Reply class`)
  }
  const tokenRoute = classes.get('/token')!
  t.not(tokenRoute.request, first.request, '/token has a context of its own')
  t.not(tokenRoute.reply, first.reply, '/token has a context of its own')
})
