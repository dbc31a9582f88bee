import { readFileSync } from 'node:fs'
import t from 'tap'
import { listItems } from '../../client/example.js'
import { schemaTypes } from '../../client/generate.js'
import { openApiDocument } from '../../src/openapi-document.js'
import { buildTestApp } from '../helper.js'

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

// Issue 14 "Typed client": the committed types are what `npm run client` makes of today's document.
t.test('client/schema.d.ts is up to date with the OpenAPI document (else: npm run client)', async (t) => {
  t.equal(read('client/schema.d.ts'), await schemaTypes(await openApiDocument({})))
})

t.test('the README shows client/example.ts as it is', async (t) => {
  t.ok(read('README.md').includes(`\`\`\`ts\n${read('client/example.ts')}\`\`\``))
})

t.test('the example logs in as bob, adds an item and lists his items, against a real server', async (t) => {
  const app = buildTestApp(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const page = await listItems(base)
  t.match(page, { total: 1, items: [{ id: Number, name: 'Hammer', description: 'Heavy', owner: 'bob', created_at: String }] })
})

t.test('the example reports a refused login with the server\'s OAuth2 error', async (t) => {
  const app = buildTestApp(t, { env: { DEMO_USERS: 'false' } })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  await t.rejects(listItems(base), new Error('login refused: Wrong username or password'))
})
