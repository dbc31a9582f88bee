import t from 'tap'
import { scopesFor, seesAllItems, isRole, isScope } from '../../src/policy.js'
import { bearerToken, claimsProblem, makeJti, parseJti } from '../../src/tokens.js'
import { createPasswordHasher, defaultHashingSlots, HasherBusyError, threadPoolSize } from '../../src/passwords.js'
import { unavailable } from '../../src/unavailable.js'

// API.md "Policy": the role → scope table.
t.test('scopesFor follows the policy table', async (t) => {
  t.same(scopesFor(['admin']), ['items:read', 'items:write', 'users:read', 'users:write'])
  t.same(scopesFor(['client']), ['items:read', 'items:write'])
  t.same(scopesFor(['client', 'admin']), ['items:read', 'items:write', 'users:read', 'users:write'])
  t.same(scopesFor(['nobody']), [])
  t.same(scopesFor([]), [])
})

t.test('policy names are checked against own properties only', async (t) => {
  t.equal(isRole('admin'), true)
  t.equal(isRole('toString'), false)
  t.equal(isScope('items:read'), true)
  t.equal(isScope('constructor'), false)
  t.equal(seesAllItems(['client', 'admin']), true)
  t.equal(seesAllItems(['client']), false)
})

t.test('bearerToken reads RFC 6750 credentials', async (t) => {
  t.same(bearerToken(undefined), { kind: 'missing' })
  t.same(bearerToken(''), { kind: 'missing' })
  t.same(bearerToken('Bearer'), { kind: 'missing' })
  t.same(bearerToken('Basic abc'), { kind: 'missing' })
  t.same(bearerToken('bearer abc.def-_~+/='), { kind: 'token', token: 'abc.def-_~+/=' })
  t.same(bearerToken('Bearer a b'), { kind: 'malformed' })
  t.same(bearerToken('Bearer a,b'), { kind: 'malformed' })
  t.same(bearerToken('Bearer\ta'), { kind: 'malformed' })
})

t.test('jti round-trips generation and login, and refuses other shapes', async (t) => {
  const jti = makeJti(7, 'login-id')
  t.match(parseJti(jti), { generation: 7, loginId: 'login-id' })
  t.not(makeJti(7, 'login-id'), jti)
  t.equal(parseJti('x.y.z'), undefined)
  t.equal(parseJti('1.a'), undefined)
})

t.test('claimsProblem names missing or future claims', async (t) => {
  const ok = { sub: 'bob', scope: '', jti: makeJti(0, 'l'), iat: 100, exp: 200 }
  t.equal(claimsProblem(ok, 100), undefined)
  t.equal(claimsProblem({ ...ok, iat: 131 }, 100), 'The token is issued in the future')
  t.equal(claimsProblem({ ...ok, iat: 130 }, 100), undefined)
  t.equal(claimsProblem({ ...ok, iat: '1' }, 100), 'The token has no issue time')
})

t.test('the password hasher verifies argon2id and refuses other hashes', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  const hash = await hasher.hash('correct horse')
  t.match(hash, /^\$argon2id\$/)
  t.equal(await hasher.verify(hash, 'correct horse'), true)
  t.equal(await hasher.verify(hash, 'wrong'), false)
  t.equal(await hasher.verify('$2b$12$notargon', 'x'), false)
  t.equal(await hasher.verify('$argon2id$broken', 'x'), false)
  t.equal(await hasher.verifyDummy('x'), false)
  t.equal(hasher.needsRehash(hash), false)
  t.equal(hasher.needsRehash('$2b$12$abc'), true)
  t.equal(createPasswordHasher({ cost: 'owasp' }).needsRehash(hash), true, 'a cheaper hash is upgraded')
})

t.test('the hasher bounds concurrency and sheds work past its queue', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 1 })
  const hash = await hasher.hash('pw')
  const first = hasher.verify(hash, 'pw')
  const second = hasher.verify(hash, 'pw')
  await t.rejects(hasher.verify(hash, 'pw'), HasherBusyError)
  t.same(await Promise.all([first, second]), [true, true])
  t.equal(await hasher.verify(hash, 'pw'), true, 'slots free up again')
})

t.test('hashing takes one slot per core, leaving a pool thread for everything else', async (t) => {
  t.equal(threadPoolSize({}), 4, 'libuv\'s default')
  t.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '12' }), 12)
  for (const invalid of ['', '0', '-2', '1.5', 'many']) t.equal(threadPoolSize({ UV_THREADPOOL_SIZE: invalid }), 4, invalid)
  t.equal(defaultHashingSlots(6, 2), 2, 'what npm start sets on two cores')
  t.equal(defaultHashingSlots(4, 8), 3, 'a pool smaller than the cores')
  t.equal(defaultHashingSlots(1, 8), 1, 'never none')
})

// API.md "Tokens": logins the server cannot serve promptly get 503 instead of queueing without bound.
t.test('a check that waits longer than maxWaitMs for a slot is refused, and leaves the queue', async (t) => {
  // An OWASP-cost hash holds the only slot for tens of milliseconds, far past the 5 ms wait.
  const hasher = createPasswordHasher({ cost: 'owasp', concurrency: 1, maxQueued: 4, maxWaitMs: 5, slotShare: 1 })
  const running = hasher.hash('pw')
  const waiter = hasher.verify('$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaA', 'pw')
  t.equal(hasher.saturated(), false, 'one running, one of four queued')
  const error = await waiter.then(() => undefined, (err: unknown) => err)
  t.ok(error instanceof HasherBusyError)
  t.match(unavailable(error, 'req-1'), { statusCode: 503, headers: { 'retry-after': '1' } }, 'answered 503 with Retry-After')
  const hash = await running
  t.equal(await hasher.verify(hash, 'pw'), true, 'the slot was released to nobody and serves the next check')
})

t.test('the hasher reports saturation only when every slot runs and the queue is full', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 1 })
  const hash = await hasher.hash('pw')
  t.equal(hasher.saturated(), false)
  const first = hasher.verify(hash, 'pw')
  t.equal(hasher.saturated(), false, 'one running, none queued')
  const second = hasher.verify(hash, 'pw')
  t.equal(hasher.saturated(), true)
  await Promise.all([first, second])
  t.equal(hasher.saturated(), false)
})

t.test('with a slot share under 1, a slot rests after its hash before the next one starts', async (t) => {
  const resting = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 0, slotShare: 0.5 })
  const hash = await createPasswordHasher({ cost: 'test' }).hash('pw')
  t.equal(await resting.verify(hash, 'pw'), true, 'the caller has its answer at once')
  t.equal(resting.saturated(), true, 'the slot is still resting')
  await t.rejects(resting.verify(hash, 'pw'), HasherBusyError)
  const eager = createPasswordHasher({ cost: 'test', concurrency: 1, maxQueued: 0, slotShare: 1 })
  await eager.verify(hash, 'pw')
  t.equal(eager.saturated(), false, 'no rest at a share of 1')
})
