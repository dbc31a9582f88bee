import t from 'tap'
import { BOB, buildTestApp, call, login } from '../helper.js'

// Issue 4.3: malformed bodies, invalid UTF-8 and wrong media types get a clear 4xx, never a 5xx.
t.test('raw bytes that are not UTF-8 in a JSON body answer 400', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'POST',
    url: '/items',
    headers: { 'content-type': 'application/json' },
    payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])
  })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { statusCode: 400, error: 'Bad Request', message: 'The body is not valid UTF-8' })
  const items = await call(app, token, { method: 'GET', url: '/items' })
  t.equal(items.json().total, 0, 'nothing was stored with replacement characters')
})

t.test('valid multi-byte UTF-8 is read as sent', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'POST',
    url: '/items',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    payload: Buffer.from(JSON.stringify({ name: 'café ☕ 𝄞' }))
  })
  t.equal(res.statusCode, 201)
  t.equal(res.json().name, 'café ☕ 𝄞')
})

t.test('malformed or empty JSON answers 400', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  for (const payload of ['{"name":', '{name: 1}', '[1,]', 'nul']) {
    const res = await call(app, token, { method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400, payload)
    t.same(res.json(), {
      statusCode: 400,
      error: 'Bad Request',
      message: "Body is not valid JSON but content-type is set to 'application/json'"
    }, payload)
  }
  const empty = await call(app, token, { method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 400)
})

t.test('prototype poisoning in JSON answers 400', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await call(app, token, {
    method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload: '{"name":"a","__proto__":{"admin":true}}'
  })
  t.equal(res.statusCode, 400)
})

t.test('a body of another media type, text/plain included, answers 415', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', undefined]) {
    const res = await call(app, token, {
      method: 'POST', url: '/items', headers: type === undefined ? {} : { 'content-type': type }, payload: 'name=x'
    })
    t.equal(res.statusCode, 415, String(type))
    t.equal(res.json().error, 'Unsupported Media Type', String(type))
  }
})

t.test('percent-encoded and raw invalid UTF-8 in a /token form answer 400, never 5xx', async (t) => {
  const app = buildTestApp(t)
  const bodies = [
    'username=bob&password=%FF%FE',
    'username=%C3%28&password=secret3',
    'username=bob&password=%',
    'username=bob&password=%zz',
    Buffer.concat([Buffer.from('username=bob&password='), Buffer.from([0xff, 0xfe])])
  ]
  for (const payload of bodies) {
    const res = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload
    })
    t.equal(res.statusCode, 400, String(payload))
    t.match(res.json().error, /^invalid_(grant|request)$/, String(payload))
  }
})
