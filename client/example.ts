import createClient from 'openapi-fetch'
import type { paths } from './schema.js'

export async function listItems (baseUrl: string) {
  const api = createClient<paths>({ baseUrl })

  // POST /token takes a form (RFC 6749 §4.3); openapi-fetch encodes the body as the header says.
  const login = await api.POST('/token', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: { grant_type: 'password', username: 'bob', password: 'secret3', scope: 'items:read items:write' }
  })
  if (login.error !== undefined) throw new Error(`login refused: ${login.error.error_description}`)
  const token = login.data.access_token
  api.use({ onRequest: ({ request }) => { request.headers.set('Authorization', `Bearer ${token}`) } })

  await api.POST('/items', { body: { name: 'Hammer', description: 'Heavy' } })
  const { data } = await api.GET('/items', { params: { query: { limit: 10 } } })
  return data // { items: Array<{ id: number, name: string, ... }>, total: number }, or undefined on an error
}
