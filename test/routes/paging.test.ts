import t from 'tap'
import { JOHNDOE, buildTestApp, call, login } from '../helper.js'

// Both list routes share src/schemas/common.ts's PageQuerySchema; johndoe (admin) may call both.
const ROUTES = [
  { url: '/items', list: 'items' },
  { url: '/users', list: 'users' }
] as const

// Issue 12.6: these reached SQLite as doubles that are not integers it can take ("datatype mismatch", a 500).
const OUT_OF_RANGE = ['1e21', 'Infinity', '9223372036854775808', '9007199254740992', '-Infinity', 'NaN', '1.5', '-0.5']

// API.md "Routes": `offset` 0..2⁵³−1; past the end an empty page, beyond that range 400.
t.test('an offset beyond 2^53-1, infinite or not a whole number is a 400 on /items and /users', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  for (const { url } of ROUTES) {
    for (const offset of OUT_OF_RANGE) {
      const res = await call(app, token, { method: 'GET', url: `${url}?offset=${offset}` })
      t.equal(res.statusCode, 400, `${url}?offset=${offset}`)
      t.match(res.json(), { statusCode: 400, error: 'Bad Request', message: /offset/ }, `${url}?offset=${offset}`)
      t.match(res.headers['content-type'], /^application\/json/)
    }
  }
})

// API.md "Routes": past the end of the list, an empty page with the real total.
t.test('offset 2^53-1 itself answers 200 with an empty page on /items and /users', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  t.ok(Number.isSafeInteger(2 ** 53 - 1))
  for (const { url, list } of ROUTES) {
    for (const offset of ['9007199254740991', '9.007199254740991e15', '4294967296']) {
      const res = await call(app, token, { method: 'GET', url: `${url}?offset=${offset}&limit=100` })
      t.equal(res.statusCode, 200, `${url}?offset=${offset}`)
      t.same(res.json(), { [list]: [], total: list === 'users' ? 3 : 0 }, `${url}?offset=${offset}`)
    }
  }
})

// API.md "Routes": `limit` 1..100; only a whole number in that range reaches the database.
t.test('a limit that is not a whole number from 1 to 100 is a 400 on /items and /users', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, JOHNDOE)
  for (const { url, list } of ROUTES) {
    for (const limit of ['1.5', '0.5', '1e21', 'Infinity', 'NaN', '-1', '0', '101', '', 'ten', '2&limit=3']) {
      const res = await call(app, token, { method: 'GET', url: `${url}?limit=${limit}` })
      t.equal(res.statusCode, 400, `${url}?limit=${limit}`)
      t.match(res.json(), { statusCode: 400, message: /limit/ }, `${url}?limit=${limit}`)
    }
    // Written another way, a whole number is still one.
    const res = await call(app, token, { method: 'GET', url: `${url}?limit=1e0&offset=0e3` })
    t.equal(res.statusCode, 200, `${url}?limit=1e0`)
    t.equal(res.json()[list].length, list === 'users' ? 1 : 0)
  }
})
