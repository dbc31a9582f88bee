import t from 'tap'
import { buildTestApp } from '../helper.js'
import packageJson from '../../package.json' with { type: 'json' }

interface Operation { security?: unknown, 'x-roles'?: string[], summary?: string, tags?: string[], responses: Record<string, unknown>, description?: string }

// API.md "OpenAPI".
t.test('the OpenAPI document declares the OAuth2 password scheme with every scope', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.0.3')
  t.equal(doc.info.version, packageJson.version)
  t.type(doc.info.title, 'string')
  t.type(doc.info.description, 'string')
  t.same(doc.servers, [{ url: 'http://127.0.0.1:3000' }])
  t.same(doc.components.securitySchemes.OAuth2PasswordBearer, {
    type: 'oauth2',
    flows: {
      password: {
        tokenUrl: '/token',
        refreshUrl: '/token',
        scopes: { 'items:read': 'Read items', 'items:write': 'Create and delete items', 'users:read': 'List users', 'users:write': 'Create, change and delete users' }
      }
    }
  })
})

t.test('protected operations carry their scopes, roles and 401/403; public ones have security []', async (t) => {
  const app = buildTestApp(t)
  const paths = (await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths as Record<string, Record<string, Operation>>
  const users = paths['/users']?.get as Operation
  t.same(users.security, [{ OAuth2PasswordBearer: ['users:read'] }])
  t.same(users['x-roles'], ['admin'])
  t.match(users.description, /Roles: admin/)
  t.ok(users.responses['401'])
  t.ok(users.responses['403'])
  t.same(paths['/users/me']?.get?.security, [{ OAuth2PasswordBearer: [] }])
  t.same(paths['/users/me']?.get?.['x-roles'], [])
  for (const [path, method] of [['/health', 'get'], ['/ready', 'get'], ['/token', 'post'], ['/openapi.json', 'get']] as const) {
    const operation = paths[path]?.[method] as Operation
    t.same(operation.security, [], `${method} ${path}`)
    t.equal(operation.responses['401'], undefined, `${method} ${path}`)
  }
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      t.type(operation.summary, 'string', `${method} ${path} summary`)
      t.ok((operation.tags ?? []).length > 0, `${method} ${path} tags`)
    }
  }
})

t.test('Swagger UI is served at /docs without a token', async (t) => {
  const app = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
  const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  t.equal(init.statusCode, 200)
})
