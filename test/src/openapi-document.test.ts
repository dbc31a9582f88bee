import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { writeOpenApiDocument } from '../../src/openapi-document.js'
import { buildTestApp } from '../helper.js'

t.test('the written document is the one GET /openapi.json serves', async (t) => {
  const file = join(t.testdir(), 'openapi.json')
  await writeOpenApiDocument({}, file)
  const text = await readFile(file, 'utf8')
  t.ok(text.endsWith('}\n'))
  const res = await buildTestApp(t).inject({ method: 'GET', url: '/openapi.json' })
  t.same(JSON.parse(text), res.json())
})

t.test('the servers follow JWT_ISSUER, and production without a key still writes the document', async (t) => {
  const file = join(t.testdir(), 'openapi.json')
  await writeOpenApiDocument({ NODE_ENV: 'production', JWT_ISSUER: 'https://api.example.com' }, file)
  t.same(JSON.parse(await readFile(file, 'utf8')).servers, [{ url: 'https://api.example.com' }])
})

t.test('a bad configuration is reported, naming the variable', async (t) => {
  await t.rejects(writeOpenApiDocument({ PORT: 'many' }, join(t.testdir(), 'openapi.json')), /^PORT: /)
})
