import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'

/**
 * The document GET /openapi.json serves, for client generators. HOST, PORT and JWT_ISSUER
 * shape its `servers` as they do the server's; no database file is touched.
 */
export async function openApiDocument (env: Record<string, string | undefined>): Promise<Record<string, unknown>> {
  const config = loadConfig({
    ...env,
    DATABASE_PATH: ':memory:',
    DEMO_USERS: 'false',
    // Nothing is signed; a key is needed only because production refuses to start without one.
    JWT_SECRET: env.JWT_SECRET ?? randomBytes(32).toString('hex')
  })
  const app = buildApp({ config, logger: false })
  try {
    await app.ready()
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** Writes openApiDocument(env) to `file` (`npm run openapi`). */
export async function writeOpenApiDocument (env: Record<string, string | undefined>, file: string): Promise<void> {
  await writeFile(file, `${JSON.stringify(await openApiDocument(env), null, 2)}\n`)
}
