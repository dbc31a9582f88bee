// Reference server (issue 13.4): Fastify 5 + @fastify/jwt as its README shows it, verifying the
// token on every request (`onRequest: request.jwtVerify()`), then a role check; logging off.
// It verifies our access tokens: same HS256 key (JWT_SECRET), same client bytes.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { listenUntilSignalled } from './listen.js'

const app = Fastify({ logger: false })
app.register(fastifyJwt, { secret: process.env.JWT_SECRET ?? '' })

async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    await request.jwtVerify()
  } catch (err) {
    reply.send(err)
  }
}

async function requireAdmin (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.user?.roles.includes('admin') !== true) reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'Admins only' })
}

app.get('/admin-only', {
  onRequest: [authenticate, requireAdmin],
  schema: { response: { 200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } } }
}, async () => ({ message: 'Hello, admin!' }))

listenUntilSignalled(app)
