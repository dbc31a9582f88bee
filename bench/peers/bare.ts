// Reference server (issue 13.4): Fastify 5 with no authentication and logging off, answering
// GET /admin-only with the same JSON and response schema as ours. The framework's ceiling.
import Fastify from 'fastify'
import { listenUntilSignalled } from './listen.js'

const app = Fastify({ logger: false })

app.get('/admin-only', {
  schema: { response: { 200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } } }
}, async () => ({ message: 'Hello, admin!' }))

listenUntilSignalled(app)
