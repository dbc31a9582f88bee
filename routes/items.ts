import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { currentUser } from '../plugins/auth.js'
import { HttpError } from '../src/errors.js'
import { seesAllItems } from '../src/policy.js'
import { ErrorSchema, PageQuerySchema } from '../src/schemas/common.js'
import { ItemListSchema, ItemParamsSchema, ItemSchema, NewItemSchema } from '../src/schemas/items.js'
import type { AuthUser } from '../src/tokens.js'

/** The owner whose items the caller may see: undefined (all) for roles that see every item. */
function visibleOwner (user: AuthUser): string | undefined {
  return seesAllItems(user.roles) ? undefined : user.username
}

const NOT_FOUND = 'Item not found'

const items: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/items', {
    config: { scopes: ['items:read'] },
    schema: {
      summary: 'List items',
      description: 'Your own items; an admin sees every item.',
      tags: ['items'],
      querystring: PageQuerySchema,
      response: { 200: ItemListSchema }
    }
  }, async (request) => await app.items.list(visibleOwner(currentUser(request)), request.query))

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
