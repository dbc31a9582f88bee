import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../src/config.js'
import { SCOPES } from '../src/policy.js'
import { ErrorSchema } from '../src/schemas/common.js'
import packageJson from '../package.json' with { type: 'json' }

export const SECURITY_SCHEME = 'OAuth2PasswordBearer'

/**
 * The one inline style Swagger UI writes: the `<style>` element inside the top bar's SVG logo
 * (swagger-ui-standalone-preset.js). Chromium blocks it under `style-src 'self'` and logs a CSP
 * violation (issue 12.9), so the policy admits exactly this text by its hash (CSP3 §8.3). Style
 * attributes need no allowance: React sets them through the CSSOM, which CSP does not govern.
 */
export const SWAGGER_UI_INLINE_STYLE = '.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}'
const SWAGGER_UI_STYLE_HASH = `'sha256-${createHash('sha256').update(SWAGGER_UI_INLINE_STYLE).digest('base64')}'`

/**
 * Swagger UI's pages load only their own scripts and styles from /docs/static (no inline script:
 * @fastify/swagger-ui ships none), draw icons from data: URIs and call this API. No
 * upgrade-insecure-requests: the server speaks plain HTTP unless a proxy adds TLS.
 */
export const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
  "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  `style-src 'self' ${SWAGGER_UI_STYLE_HASH}`
].join('; ')

const DESCRIPTION = `Authenticated HTTP API. Get a token from \`POST /token\` (OAuth 2.0 password grant),
then send it as \`Authorization: Bearer <token>\`. Each operation lists the scopes its token needs
and, in \`x-roles\`, the roles its user needs (any one of them).`

/**
 * A query parameter with a default may be left out (Ajv fills it in), so the document must not
 * call it required: OpenAPI 3.0 uses `default` for parameters that are not. Typed clients
 * generated from the document (client/schema.d.ts) would otherwise demand `?limit=&offset=`.
 */
function defaultsOptional (querystring: unknown): unknown {
  const { properties, required } = querystring as { properties: Record<string, { default?: unknown }>, required?: string[] }
  return { ...querystring as object, required: required?.filter((name) => properties[name]?.default === undefined) }
}

/**
 * OpenAPI comes from the same route config the auth hook enforces: the transform below writes each
 * operation's security, x-roles and 401/403 answers, so route files repeat nothing.
 * Registered before plugins/auth.ts, so Swagger UI's own routes are public.
 */
async function docs (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Secure API', version: packageJson.version, description: DESCRIPTION },
      servers: [{ url: config.issuer }],
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'oauth2',
            flows: { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: { ...SCOPES } } }
          }
        }
      }
    },
    transform ({ schema: routeSchema, url, route }) {
      const schema = routeSchema.querystring === undefined
        ? routeSchema
        : { ...routeSchema, querystring: defaultsOptional(routeSchema.querystring) }
      const routeConfig = route.config ?? {}
      if (routeConfig.public === true) return { schema: { ...schema, security: [] }, url }
      const scopes = [...(routeConfig.scopes ?? [])]
      const roles = [...(routeConfig.roles ?? [])]
      const needs = [
        scopes.length > 0 ? `Scopes: ${scopes.join(', ')} (all).` : 'Any valid access token.',
        roles.length > 0 ? `Roles: ${roles.join(', ')} (any).` : ''
      ].filter(Boolean).join(' ')
      const forbidden = [scopes.length > 0 ? 'scope (insufficient_scope)' : '', roles.length > 0 ? 'role' : ''].filter(Boolean)
      return {
        url,
        schema: {
          ...schema,
          description: [schema.description, needs].filter(Boolean).join('\n\n'),
          security: [{ [SECURITY_SCHEME]: scopes }],
          'x-roles': roles,
          response: {
            ...schema.response as Record<string, unknown>,
            401: { ...ErrorSchema, description: 'Missing, invalid, expired or revoked access token' },
            // Only a route that requires a scope or a role can answer 403.
            ...forbidden.length > 0 ? { 403: { ...ErrorSchema, description: `Missing ${forbidden.join(' or ')}` } } : {}
          }
        }
      }
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiConfig: { persistAuthorization: false, displayRequestDuration: true },
    initOAuth: { usePkceWithAuthorizationCodeGrant: false },
    // "Try it out" and Authorize go to the server that served the page. The issuer URL in
    // /openapi.json may be another origin (localhost vs 127.0.0.1, a port, a proxy), which fails CORS.
    transformSpecification: (spec) => ({ ...spec, servers: [{ url: '/', description: 'The server that served this page' }] })
  })
}

export default fp(docs, { name: 'docs' })
