import { resolve } from 'node:path'
import { writeOpenApiDocument } from './openapi-document.js'

// `npm run openapi [-- FILE]`
const file = resolve(process.argv[2] ?? 'openapi.json')
try {
  await writeOpenApiDocument(process.env, file)
  process.stdout.write(`Wrote ${file}\n`)
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`)
  process.exitCode = 1
}
