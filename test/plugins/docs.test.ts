import SwaggerParser from '@apidevtools/swagger-parser'
import type { RouteOptions } from 'fastify'
import t, { type Test } from 'tap'
import packageJson from '../../package.json' with { type: 'json' }
import { SCOPES } from '../../src/policy.js'
import { buildTestApp } from '../helper.js'

interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  'x-roles'?: string[]
  responses: Record<string, unknown>
}
interface Document {
  openapi: string
  info: { title?: string, version?: string, description?: string }
  servers?: Array<{ url: string }>
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, unknown> }
}

/** The app, the routes it declared (seen by an onRoute hook, as plugins/auth.ts sees them) and its /openapi.json. */
async function documentedApp (t: Test) {
  const app = buildTestApp(t)
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => { routes.push(route) })
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  // HEAD routes are Fastify's automatic twins of GET; Swagger UI's own routes are hidden.
  const documented = routes.filter((route) => route.method !== 'HEAD' && route.schema?.hide !== true)
  return { app, routes: documented, document: res.json<Document>() }
}
function operationOf (document: Document, route: RouteOptions): Operation | undefined {
  const path = route.url.replace(/:(\w+)/g, '{$1}')
  return document.paths[path]?.[String(route.method).toLowerCase()]
}

// API.md "OpenAPI": an OpenAPI 3 document, checked against the specification's own schema.
t.test('GET /openapi.json passes the OpenAPI 3 validator', async (t) => {
  const { document } = await documentedApp(t)
  t.match(document.openapi, /^3\.0\.\d+$/)
  await t.resolves(SwaggerParser.validate(structuredClone(document) as unknown as Parameters<typeof SwaggerParser.validate>[0]))
})

t.test('every route is documented, and nothing else is', async (t) => {
  const { routes, document } = await documentedApp(t)
  t.ok(routes.length >= 16, `${routes.length} routes`)
  for (const route of routes) t.ok(operationOf(document, route), `${String(route.method)} ${route.url}`)
  const operations = Object.values(document.paths).flatMap((methods) => Object.keys(methods))
  t.equal(operations.length, routes.length)
})

// API.md "OpenAPI": "Every operation has a summary and tags".
t.test('every operation has a summary and tags', async (t) => {
  const { document } = await documentedApp(t)
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      t.match(operation.summary, /\w/, `${method} ${path} summary`)
      t.ok(Array.isArray(operation.tags) && operation.tags.length > 0, `${method} ${path} tags`)
    }
  }
})

// API.md "OpenAPI": "Each protected operation has security: [{OAuth2PasswordBearer: [its scopes]}], lists its roles
// in x-roles and its description, and documents its 401/403 answers; public operations have security: []".
t.test("each operation's security, x-roles, description and 401/403 answers come from its route's config", async (t) => {
  const { routes, document } = await documentedApp(t)
  const kinds = { public: 0, scopes: 0, roles: 0, tokenOnly: 0 }
  for (const route of routes) {
    const name = `${String(route.method)} ${route.url}`
    const operation = operationOf(document, route) as Operation
    const { public: isPublic = false, scopes = [], roles = [] } = route.config ?? {}
    if (isPublic) {
      kinds.public++
      t.same(operation.security, [], `${name} security`)
      t.notOk('401' in operation.responses, `${name} has no 401`)
      continue
    }
    if (scopes.length > 0) kinds.scopes++
    if (roles.length > 0) kinds.roles++
    if (scopes.length === 0 && roles.length === 0) kinds.tokenOnly++
    t.same(operation.security, [{ OAuth2PasswordBearer: scopes }], `${name} security`)
    t.same(operation['x-roles'], roles, `${name} x-roles`)
    for (const role of roles) t.match(operation.description, new RegExp(`Roles: .*\\b${role}\\b`), `${name} description names ${role}`)
    for (const scope of scopes) t.match(operation.description, new RegExp(`Scopes: .*${scope}`), `${name} description names ${scope}`)
    t.ok('401' in operation.responses, `${name} documents 401`)
    t.equal('403' in operation.responses, scopes.length > 0 || roles.length > 0, `${name} documents 403 when it can answer it`)
  }
  // Each kind of route is present, so none of the checks above ran on nothing.
  t.ok(kinds.public > 0 && kinds.scopes > 0 && kinds.roles > 0 && kinds.tokenOnly > 0, JSON.stringify(kinds))
})

// API.md "OpenAPI": "the document has servers and info (title, version from package.json, description)".
t.test('the document has servers and info with the title, the package version and a description', async (t) => {
  const { document } = await documentedApp(t)
  t.match(document.info, { title: /\w/, version: packageJson.version, description: /\w/ })
  t.same(document.servers, [{ url: 'http://127.0.0.1:3000' }])
})

// API.md "OpenAPI": "components.securitySchemes.OAuth2PasswordBearer: type oauth2, flows.password with
// tokenUrl /token, refreshUrl /token and every scope with a description".
t.test('the OAuth2PasswordBearer scheme is the password flow at /token with every scope described', async (t) => {
  const { document } = await documentedApp(t)
  t.same(document.components.securitySchemes, {
    OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: SCOPES } } }
  })
  for (const description of Object.values(SCOPES)) t.match(description, /\w/)
})

t.test("Swagger UI's copy of the document sends requests to the server that served the page", async (t) => {
  const app = buildTestApp(t, { env: { JWT_ISSUER: 'https://api.example.com' } })
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  t.same(res.json<Document>().servers, [{ url: '/', description: 'The server that served this page' }])
  const served = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.same(served.json<Document>().servers, [{ url: 'https://api.example.com' }], 'clients keep the issuer URL')
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

// API.md "Routes": `limit` (20) and `offset` (0) have defaults, so a client may leave them out.
t.test('query parameters with a default are documented as optional, the others as the schema says', async (t) => {
  const app = buildTestApp(t)
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<string, Record<string,
    { parameters?: Array<{ in: string, name: string, required?: boolean, schema: { default?: unknown } }> }>>
  }>()
  const query = Object.entries(document.paths).flatMap(([path, operations]) => Object.entries(operations).flatMap(([method, operation]) =>
    (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({
      at: `${method} ${path} ${p.name}`,
      required: p.required ?? false,
      default: p.schema.default
    }))))
  t.same(query.filter((p) => p.at.startsWith('get /items ')), [
    { at: 'get /items limit', required: false, default: 20 },
    { at: 'get /items offset', required: false, default: 0 }
  ])
  t.same(query.filter((p) => p.required && p.default !== undefined), [], 'no required parameter has a default')
})
