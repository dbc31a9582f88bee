import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { currentUser } from '../plugins/auth.js'
import { HttpError } from '../src/errors.js'
import { seesAllItems } from '../src/policy.js'
import { ErrorSchema, PageQuerySchema } from '../src/schemas/common.js'
import { ItemListSchema, ItemParamsSchema, ItemSchema, NewItemSchema } from '../src/schemas/items.js'
import type { AuthUser } from '../src/tokens.js'
import type { ItemPage } from '../src/store/items.js'

/** The owner whose items the caller may see: undefined (all) for roles that see every item. */
function visibleOwner (user: AuthUser): string | undefined {
  return seesAllItems(user.roles) ? undefined : user.username
}

const NOT_FOUND = 'Item not found'
const JSON_TYPE = 'application/json; charset=utf-8'

const items: FastifyPluginAsyncTypebox = async (app) => {
  // A listed page is frozen and shared until the next write (src/store/sqlite/items.ts), so the
  // route's response schema serializes it once and later requests send that JSON again.
  const pageJson = new WeakMap<ItemPage, string>()

  app.get('/items', {
    config: { scopes: ['items:read'] },
    schema: {
      summary: 'List items',
      description: 'Your own items; an admin sees every item.',
      tags: ['items'],
      querystring: PageQuerySchema,
      response: { 200: ItemListSchema }
    }
  }, async (request, reply) => {
    const page = await app.items.list(visibleOwner(currentUser(request)), request.query)
    let json = pageJson.get(page)
    if (json === undefined) {
      // The route's response schema serializes into a string (fast-json-stringify).
      json = reply.serialize(page) as string
      pageJson.set(page, json)
    }
    const kept = json
    // The page itself is sent, typed by the schema; its serializer answers with the JSON kept for it.
    return await reply.type(JSON_TYPE).serializer(() => kept).send(page)
  })

  app.post('/items', {
    config: { scopes: ['items:write'] },
    schema: { summary: 'Create an item', tags: ['items'], body: NewItemSchema, response: { 201: ItemSchema } }
  }, async (request, reply) => {
    const item = await app.items.create({ ...request.body, owner: currentUser(request).username }, new Date(app.now()))
    return await reply.code(201).send(item)
  })

  app.get('/items/:id', {
    config: { scopes: ['items:read'] },
    schema: { summary: 'Get an item', tags: ['items'], params: ItemParamsSchema, response: { 200: ItemSchema, 404: ErrorSchema } }
  }, async (request) => {
    const item = await app.items.find(request.params.id, visibleOwner(currentUser(request)))
    if (item === undefined) throw new HttpError(404, NOT_FOUND)
    return item
  })

  app.delete('/items/:id', {
    config: { scopes: ['items:write'] },
    schema: { summary: 'Delete an item', tags: ['items'], params: ItemParamsSchema, response: { 204: Type.Null(), 404: ErrorSchema } }
  }, async (request, reply) => {
    if (!await app.items.delete(request.params.id, visibleOwner(currentUser(request)))) throw new HttpError(404, NOT_FOUND)
    return await reply.code(204).send(null)
  })
}

export default items
