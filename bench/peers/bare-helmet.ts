// Reference server: bare Fastify 5 (bare.ts) plus our security-headers plugin, which adds helmet's
// headers to every answer as issue 13 requires of us. No authentication, logging off. Beside bare
// Fastify it shows what those twelve headers alone cost the framework.
import Fastify from 'fastify'
import securityHeaders from '../../plugins/security-headers.js'
import { listenUntilSignalled } from './listen.js'

const app = Fastify({ logger: false })
app.register(securityHeaders)

app.get('/admin-only', {
  schema: { response: { 200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } } }
}, async () => ({ message: 'Hello, admin!' }))

listenUntilSignalled(app)
