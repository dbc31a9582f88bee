// `npm run client`: writes client/schema.d.ts from the document the server serves with the default configuration.
import { writeFile } from 'node:fs/promises'
import { schemaTypes } from '../client/generate.js'
import { openApiDocument } from '../src/openapi-document.js'

const file = new URL('../client/schema.d.ts', import.meta.url)
await writeFile(file, await schemaTypes(await openApiDocument({})))
process.stdout.write(`Wrote ${file.pathname}\n`)
