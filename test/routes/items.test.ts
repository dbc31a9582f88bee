import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, JOHNDOE, buildTestApp, call, login } from '../helper.js'

async function createItem (app: FastifyInstance, token: string, payload: object): Promise<{ id: number }> {
  const res = await call(app, token, { method: 'POST', url: '/items', payload })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.body}`)
  return res.json()
}

// API.md "Routes": POST /items → 201 the item.
t.test('POST /items creates an item owned by the caller', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, { method: 'POST', url: '/items', payload: { name: 'Hammer', description: 'Heavy' } })
  t.equal(res.statusCode, 201)
  const item = res.json()
  t.match(item, { id: Number, name: 'Hammer', description: 'Heavy', owner: 'bob', created_at: String })
  t.same(Object.keys(item).sort(), ['created_at', 'description', 'id', 'name', 'owner'])
  t.ok(!Number.isNaN(Date.parse(item.created_at)))
  const bare = await call(app, token, { method: 'POST', url: '/items', payload: { name: 'Nail' } })
  t.equal(bare.json().description, null)
})

t.test('POST /items validates the body and refuses unknown properties', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const cases: Array<[string, object]> = [
    ['empty name', { name: '' }],
    ['name over 100', { name: 'x'.repeat(101) }],
    ['description over 1000', { name: 'ok', description: 'x'.repeat(1001) }],
    ['no name', { description: 'x' }],
    ['owner smuggled in', { name: 'ok', owner: 'johndoe' }]
  ]
  for (const [name, payload] of cases) {
    const res = await call(app, token, { method: 'POST', url: '/items', payload })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().statusCode, 400, name)
    t.type(res.json().message, 'string', name)
  }
  t.equal((await call(app, token, {
    method: 'POST',
    url: '/items',
    payload: {
      name: 'x'.repeat(100),
      description: 'y'.repeat(1000)
    }
  })).statusCode, 201)
})

t.test('POST /items needs items:write', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, { ...BOB, scope: 'items:read' })
  const res = await call(app, token, { method: 'POST', url: '/items', payload: { name: 'x' } })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items:write"')
})

// API.md "Routes": GET /items: own items, every item for admin; paging.
t.test('GET /items lists the caller\'s own items, and every item for an admin', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  const admin = await login(app, JOHNDOE)
  await createItem(app, bob, { name: 'bob-1' })
  await createItem(app, bob, { name: 'bob-2' })
  await createItem(app, admin, { name: 'admin-1' })
  const bobs = await call(app, bob, { method: 'GET', url: '/items' })
  t.equal(bobs.statusCode, 200)
  t.equal(bobs.json().total, 2)
  t.same(bobs.json().items.map((item: { name: string }) => item.name), ['bob-1', 'bob-2'])
  const all = await call(app, admin, { method: 'GET', url: '/items' })
  t.equal(all.json().total, 3)
})

// API.md "Routes": GET /items answers JSON; a repeated list is the same JSON, and a write shows at once.
t.test('GET /items answers the same JSON while nothing changes, and the new list after a write', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  await createItem(app, bob, { name: 'first', description: 'quote " and \\ and \u2028' })
  const first = await call(app, bob, { method: 'GET', url: '/items' })
  const again = await call(app, bob, { method: 'GET', url: '/items' })
  for (const res of [first, again]) {
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)))
  }
  t.equal(again.body, first.body)
  t.equal(first.json().items[0].description, 'quote " and \\ and \u2028')
  t.same(Object.keys(first.json().items[0]).sort(), ['created_at', 'description', 'id', 'name', 'owner'])
  await createItem(app, bob, { name: 'second' })
  const after = await call(app, bob, { method: 'GET', url: '/items' })
  t.same(after.json().items.map((item: { name: string }) => item.name), ['first', 'second'])
  t.equal(after.json().total, 2)
})

t.test('GET /items pages with limit and offset', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  for (let i = 0; i < 25; i++) await createItem(app, bob, { name: `n${i}` })
  const first = (await call(app, bob, { method: 'GET', url: '/items' })).json()
  t.equal(first.items.length, 20, 'limit defaults to 20')
  t.equal(first.total, 25)
  const page = (await call(app, bob, { method: 'GET', url: '/items?limit=10&offset=20' })).json()
  t.same(page.items.map((item: { name: string }) => item.name), ['n20', 'n21', 'n22', 'n23', 'n24'])
  for (const query of ['limit=0', 'limit=101', 'offset=-1', 'limit=abc', 'other=1']) {
    const res = await call(app, bob, { method: 'GET', url: `/items?${query}` })
    t.equal(res.statusCode, 400, query)
  }
})

// API.md "Routes": GET/DELETE /items/:id, 404 when missing or not the caller's.
t.test('GET /items/:id answers the owner and an admin, 404 for anybody else', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  const item = await createItem(app, bob, { name: 'mine' })
  t.equal((await call(app, bob, { method: 'GET', url: `/items/${item.id}` })).json().name, 'mine')
  t.equal((await call(app, await login(app, JOHNDOE), { method: 'GET', url: `/items/${item.id}` })).statusCode, 200)
  await app.inject({
    method: 'POST',
    url: '/users',
    headers: { authorization: `Bearer ${await login(app, JOHNDOE)}` },
    payload: { username: 'carol', password: 'carol-password', roles: ['client'] }
  })
  const carol = await login(app, { username: 'carol', password: 'carol-password' })
  const foreign = await call(app, carol, { method: 'GET', url: `/items/${item.id}` })
  t.equal(foreign.statusCode, 404)
  t.same(foreign.json(), { statusCode: 404, error: 'Not Found', message: 'Item not found' })
  t.equal((await call(app, bob, { method: 'GET', url: '/items/999999' })).statusCode, 404)
  t.equal((await call(app, bob, { method: 'GET', url: '/items/abc' })).statusCode, 400)
})

t.test('DELETE /items/:id deletes for the owner, 404 for others and after deletion', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  const admin = await login(app, JOHNDOE)
  const adminItem = await createItem(app, admin, { name: 'admin item' })
  t.equal((await call(app, bob, { method: 'DELETE', url: `/items/${adminItem.id}` })).statusCode, 404, 'not bob\'s')
  const item = await createItem(app, bob, { name: 'mine' })
  const res = await call(app, bob, { method: 'DELETE', url: `/items/${item.id}` })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await call(app, bob, { method: 'DELETE', url: `/items/${item.id}` })).statusCode, 404)
  t.equal((await call(app, admin, { method: 'DELETE', url: `/items/${adminItem.id}` })).statusCode, 204)
})

t.test('DELETE /items/:id needs items:write', async (t) => {
  const app = buildTestApp(t)
  const bob = await login(app, BOB)
  const item = await createItem(app, bob, { name: 'mine' })
  const readOnly = await login(app, { ...BOB, scope: 'items:read' })
  const res = await call(app, readOnly, { method: 'DELETE', url: `/items/${item.id}` })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items:write"')
})
