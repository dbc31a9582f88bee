import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'

/**
 * Writes the document GET /openapi.json serves, for client generators. HOST, PORT and
 * JWT_ISSUER shape its `servers` as they do the server's; no database file is touched.
 */
export async function writeOpenApiDocument (env: Record<string, string | undefined>, file: string): Promise<void> {
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
    await writeFile(file, `${JSON.stringify(app.swagger(), null, 2)}\n`)
  } finally {
    await app.close()
  }
}
