import type { Test } from 'tap'
import { seedDemoUsers, DEMO_USERS } from '../../../src/demo-users.js'
import { createPasswordHasher } from '../../../src/passwords.js'
import type { Store } from '../../../src/store/store.js'
import { UsernameTakenError, type NewUser } from '../../../src/store/users.js'
import { createUserStateCache, keepingStateCurrent } from '../../../src/user-state.js'

/** A fresh, empty, migrated store, closed when `t` ends; `rows` runs a plain SELECT on its database. */
export interface ContractSubject {
  store: Store
  rows: (query: string) => Promise<Array<Record<string, unknown>>>
}

export type StoreFactory = (t: Test) => Promise<ContractSubject>

const NOW = new Date('2026-01-02T03:04:05.000Z')
const PAGE = { limit: 20, offset: 0 }
const user = (username: string, extra: Partial<NewUser> = {}): NewUser => ({
  username,
  password_hash: `hash-of-${username}`,
  roles: ['client'],
  ...extra
})
const names = (page: { items: ReadonlyArray<{ name: string }> }): string[] => page.items.map((item) => item.name)
/** A starting generation as a store must give it: random, 48 bits, exact in a double and in the jti. */
function assertRandomStart (t: Test, generation: number): void {
  t.ok(Number.isSafeInteger(generation) && generation >= 0 && generation < 2 ** 48, `${generation} is a 48-bit integer`)
}
const family = (id: string, username = 'bob') => ({ id, username, scope: 'items:read', generation: 2 })

/**
 * What every store adapter must do, run by test/src/store/sqlite.test.ts and postgres.test.ts.
 * Adapter-specific behaviour (SQLite's page cache and file checks, PostgreSQL's locks) is tested beside them.
 */
export function storeContract (t: Test, open: StoreFactory): void {
  t.test('users: create, find, list in username order with the total, count', async (t) => {
    const { store: { users } } = await open(t)
    // Roles are a set, kept in the policy's order (src/policy.ts inPolicyOrder).
    const bob = await users.create(user('bob', { email: 'b@example.com', full_name: 'Bob', roles: ['client', 'admin'] }), NOW)
    t.same(bob, {
      username: 'bob',
      email: 'b@example.com',
      full_name: 'Bob',
      password_hash: 'hash-of-bob',
      disabled: false,
      roles: ['admin', 'client'],
      token_generation: bob.token_generation,
      created_at: NOW.toISOString()
    })
    assertRandomStart(t, bob.token_generation)
    await users.create(user('alice', { disabled: true }), NOW)
    await users.create(user('Zed'), NOW)
    t.match(await users.find('alice'), { disabled: true, email: null, full_name: null })
    t.equal(await users.find('ALICE'), undefined, 'usernames are case-sensitive')
    const { users: listed, total } = await users.list({ limit: 2, offset: 0 })
    t.same(listed.map((u) => u.username), ['Zed', 'alice'], 'bytewise order, as SQLite sorts')
    t.same(listed[1], await users.find('alice'), 'each listed user as find() returns it')
    t.equal(total, 3)
    t.same(await users.list({ limit: 5, offset: 9 }), { users: [], total: 3 })
    t.equal(await users.count(), 3)
  })

  t.test('users: a taken username throws UsernameTakenError', async (t) => {
    const { store: { users } } = await open(t)
    await users.create(user('dave'), NOW)
    await t.rejects(users.create(user('dave'), NOW), new UsernameTakenError('dave'))
  })

  t.test('users: update changes fields, bumps the generation only for a real change of password, roles or disabled', async (t) => {
    const { store: { users } } = await open(t)
    const { token_generation: start } = await users.create(user('bob'), NOW)
    const updated = await users.update('bob', { email: 'b@example.com', full_name: 'Bob' })
    t.match(updated, { email: 'b@example.com', full_name: 'Bob', token_generation: start })
    const unchanged = await users.update('bob', { roles: ['client'], disabled: false })
    t.match(unchanged, { token_generation: start }, 'the same values revoke nothing')
    t.match(await users.update('bob', { roles: ['client', 'admin'] }), { roles: ['admin', 'client'], token_generation: start + 1 })
    t.match(await users.update('bob', { roles: ['admin', 'client'] }), { token_generation: start + 1 },
      'roles are a set: another order is no change')
    t.match(await users.update('bob', { roles: ['admin'] }), { roles: ['admin'], token_generation: start + 2 })
    t.match(await users.update('bob', { disabled: true, email: null }), { disabled: true, email: null, token_generation: start + 3 })
    t.match(await users.update('bob', { password_hash: 'new' }), { password_hash: 'new', token_generation: start + 4 })
    t.match(await users.update('bob', {}), { username: 'bob', token_generation: start + 4 })
    t.equal(await users.update('nobody', { email: 'x@example.com' }), undefined)
    t.equal(await users.update('nobody', {}), undefined)
  })

  t.test('users: replaceHash replaces without revoking, only while the hash is unchanged', async (t) => {
    const { store: { users } } = await open(t)
    const { token_generation: start } = await users.create({ username: 'dave', password_hash: 'old', roles: ['client'] }, new Date(1000))
    t.equal(await users.replaceHash('dave', 'old', 'new'), true)
    t.equal(await users.replaceHash('dave', 'old', 'stale'), false, 'a hash changed meanwhile is kept')
    t.match(await users.find('dave'), { password_hash: 'new', token_generation: start, created_at: '1970-01-01T00:00:01.000Z' })
  })

  t.test('users: delete removes the user and its items, once', async (t) => {
    const { store: { users, items } } = await open(t)
    await users.create(user('bob'), NOW)
    await users.create(user('alice'), NOW)
    await items.create({ name: 'his', owner: 'bob' }, NOW)
    await items.create({ name: 'hers', owner: 'alice' }, NOW)
    t.equal((await items.list(undefined, PAGE)).total, 2)
    t.equal(await users.delete('bob'), true)
    t.equal(await users.delete('bob'), false)
    t.equal(await users.find('bob'), undefined)
    t.same(names(await items.list(undefined, PAGE)), ['hers'], 'ON DELETE CASCADE, and no cached page survives it')
  })

  t.test('users: createMany creates every user, as stored', async (t) => {
    const { store: { users } } = await open(t)
    const created = await users.createMany([
      user('alice', { disabled: true, email: 'a@example.com' }),
      user('johndoe', { roles: ['admin'], full_name: 'John Doe' })
    ], NOW)
    t.match(created, [
      {
        username: 'alice',
        disabled: true,
        email: 'a@example.com',
        full_name: null,
        roles: ['client'],
        password_hash: 'hash-of-alice',
        created_at: NOW.toISOString()
      },
      { username: 'johndoe', disabled: false, email: null, full_name: 'John Doe', roles: ['admin'] }
    ])
    t.equal(await users.count(), 2)
  })

  // API.md "Authentication and authorization", last paragraph: a token issued to a deleted user never
  // authorizes anything again, also after a user is created under the same name. Each new user starts
  // at a random generation, so the old tokens' generation does not match the new user's, whatever path
  // created it (API, command line, import) and whether or not the old logins are still stored.
  t.test('users: create() and createMany() give every new user its own random token generation', async (t) => {
    const { store: { users } } = await open(t)
    const created = [
      await users.create(user('alice'), NOW),
      await users.create(user('bob'), NOW),
      ...await users.createMany([user('carol'), user('dave')], NOW)
    ]
    const generations = created.map((record) => record.token_generation)
    for (const generation of generations) assertRandomStart(t, generation)
    t.equal(new Set(generations).size, generations.length, 'no two alike')
    const stored = await Promise.all(created.map(async (record) => (await users.find(record.username))?.token_generation))
    t.same(stored, generations, 'as stored')
  })

  t.test('users: a user deleted and created again under the same name starts at a new generation', async (t) => {
    const { store: { users } } = await open(t)
    const seen = new Set<number>()
    for (let i = 0; i < 5; i++) {
      const { token_generation: generation } = await users.create(user('bob'), NOW)
      assertRandomStart(t, generation)
      seen.add(generation)
      t.equal(await users.delete('bob'), true)
    }
    t.equal(seen.size, 5)
  })

  t.test('users: createMany creates none when one username is taken or named twice, and says which', async (t) => {
    const { store: { users } } = await open(t)
    await users.create(user('bob'), NOW)
    await t.rejects(users.createMany([user('alice'), user('bob'), user('carol')], NOW), new UsernameTakenError('bob'))
    await t.rejects(users.createMany([user('carol'), user('carol')], NOW), new UsernameTakenError('carol'))
    t.equal(await users.find('alice'), undefined)
    t.equal(await users.count(), 1)
  })

  t.test('users: createMany passes other database errors on, and creates none', async (t) => {
    const { store: { users } } = await open(t)
    await t.rejects(users.createMany([user('alice'), user('bob', { password_hash: null as unknown as string })], NOW))
    t.equal(await users.count(), 0)
  })

  // API.md "Authentication and authorization": changes take effect immediately, so the cache must learn of imports too.
  t.test('users: createMany and createIfNone through keepingStateCurrent() put the new users in the user-state cache', async (t) => {
    const { store: { users } } = await open(t)
    const cache = createUserStateCache({ load: users.find })
    await cache.load('alice') // cached as "no such user"
    t.equal(cache.peek('alice'), null)
    const kept = keepingStateCurrent(users, cache)
    const [first] = await kept.createMany([user('alice')], NOW)
    t.same(cache.peek('alice'), { roles: ['client'], disabled: false, generation: first?.token_generation })
    await kept.delete('alice')
    const [second] = await kept.createIfNone([user('alice', { disabled: true })], NOW)
    t.same(cache.peek('alice'), { roles: ['client'], disabled: true, generation: second?.token_generation })
  })

  // API.md "Running" (demo users, created on an empty database only) and "Several instances".
  t.test('users: createIfNone creates all only while there is no user', async (t) => {
    const { store: { users } } = await open(t)
    t.match(await users.createIfNone([user('alice'), user('bob')], NOW), [{ username: 'alice' }, { username: 'bob' }])
    t.same(await users.createIfNone([user('carol')], NOW), [])
    t.equal(await users.count(), 2)
  })

  t.test('users: the demo users are seeded on an empty store only', async (t) => {
    const { store: { users } } = await open(t)
    const passwords = createPasswordHasher({ cost: 'test' })
    await seedDemoUsers(users, passwords, NOW)
    const listed = (await users.list(PAGE)).users.map((u) => [u.username, u.disabled, u.roles])
    t.same(listed, DEMO_USERS.map((u) => [u.username, u.disabled, u.roles]).sort())
    await users.delete('bob')
    await seedDemoUsers(users, passwords, NOW)
    t.equal(await users.count(), 2, 'not seeded again over existing users')
  })

  // API.md "Routes": GET /items, own items or every item, with total.
  t.test('items: list pages one owner\'s items, or everybody\'s, with the total', async (t) => {
    const { store: { users, items } } = await open(t)
    await users.createMany([user('bob'), user('alice')], NOW)
    const owned = [['b1', 'bob'], ['a1', 'alice'], ['b2', 'bob'], ['b3', 'bob']] as const
    for (const [name, owner] of owned) await items.create({ name, owner }, NOW)
    t.same(await items.list('bob', PAGE), {
      items: [1, 3, 4].map((id, i) => ({ id, name: `b${i + 1}`, description: null, owner: 'bob', created_at: NOW.toISOString() })),
      total: 3
    })
    t.same(names(await items.list('bob', { limit: 1, offset: 1 })), ['b2'])
    t.same(await items.list('bob', { limit: 5, offset: 9 }), { items: [], total: 3 })
    t.same(await items.list(undefined, { limit: 5, offset: 2 ** 53 - 1 }), { items: [], total: 4 }, 'the largest offset the API takes')
    t.same(names(await items.list(undefined, { limit: 2, offset: 1 })), ['a1', 'b2'])
    t.equal((await items.list(undefined, PAGE)).total, 4)
    t.same(await items.list('carol', PAGE), { items: [], total: 0 })
  })

  t.test('items: create returns the item; find and delete see only the owner\'s, or any for undefined', async (t) => {
    const { store: { users, items } } = await open(t)
    await users.createMany([user('bob'), user('alice')], NOW)
    const item = await items.create({ name: 'n', description: 'd', owner: 'bob' }, NOW)
    t.same(item, { id: 1, name: 'n', description: 'd', owner: 'bob', created_at: NOW.toISOString() })
    t.same(await items.find(1, 'bob'), item)
    t.same(await items.find(1, undefined), item)
    t.equal(await items.find(1, 'alice'), undefined)
    t.equal(await items.find(2, undefined), undefined)
    t.equal(await items.delete(1, 'alice'), false)
    t.same(names(await items.list('bob', PAGE)), ['n'])
    t.equal(await items.delete(1, 'bob'), true)
    t.same(await items.list('bob', PAGE), { items: [], total: 0 }, 'a delete shows at once')
    const other = await items.create({ name: 'm', owner: 'alice' }, NOW)
    t.equal(other.id, 2, 'ids are not reused')
    t.same(names(await items.list(undefined, PAGE)), ['m'], 'a create shows at once')
    t.equal(await items.delete(2, undefined), true)
  })

  t.test('refresh tokens: a family starts with one live token, found by its hash with the family fields', async (t) => {
    const { store: { refreshTokens: repo } } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    t.same(await repo.find('h1'), {
      token_hash: 'h1',
      family_id: 'f1',
      expires_at: 5000,
      used_at: null,
      username: 'bob',
      scope: 'items:read',
      generation: 2,
      revoked_at: null
    })
    t.equal(await repo.find('nope'), undefined)
  })

  t.test('refresh tokens: rotate retires the token, stores the successor and extends the family', async (t) => {
    const { store: { refreshTokens: repo }, rows } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    t.equal(await repo.rotate('h1', 'h2', 1000, 9000), 'rotated')
    t.match(await repo.find('h1'), { used_at: 1000, expires_at: 5000 })
    t.match(await repo.find('h2'), { family_id: 'f1', used_at: null, expires_at: 9000 })
    t.same(await rows("SELECT expires_at FROM refresh_families WHERE id = 'f1'"), [{ expires_at: 9000 }])
  })

  t.test('refresh tokens: rotating a used token revokes its family, so its live successor no longer rotates', async (t) => {
    const { store: { refreshTokens: repo } } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    await repo.rotate('h1', 'h2', 1000, 9000)
    t.equal(await repo.rotate('h1', 'h3', 1100, 9100), 'reused')
    t.match(await repo.find('h2'), { revoked_at: 1100, used_at: null })
    t.equal(await repo.rotate('h2', 'h4', 1200, 9200), 'invalid')
    t.equal(await repo.find('h4'), undefined)
    t.same(await repo.revokedAfter(0), [{ id: 'f1', revoked_at: 1100 }])
  })

  t.test('refresh tokens: rotate changes nothing for an unknown, expired or revoked token', async (t) => {
    const { store: { refreshTokens: repo }, rows } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    t.equal(await repo.rotate('unknown', 'x', 1000, 9000), 'invalid')
    t.equal(await repo.rotate('h1', 'x', 5000, 9000), 'invalid', 'expired at expires_at')
    await repo.createFamily(family('f2'), 'h2', 5000)
    t.equal(await repo.revokeFamily('f2', 1000), true)
    t.equal(await repo.revokeFamily('f2', 1200), false, 'revoking twice reports the family was not live')
    t.equal(await repo.rotate('h2', 'x', 1400, 9000), 'invalid')
    t.match(await repo.find('h2'), { used_at: null, revoked_at: 1000 })
    t.same(await rows('SELECT count(*) AS n FROM refresh_tokens'), [{ n: 2 }])
  })

  // API.md "Several instances": a refresh token presented at once is honoured at most once.
  t.test('refresh tokens: of 50 concurrent rotations of one token, at most one wins and the login ends up revoked', async (t) => {
    const { store: { refreshTokens: repo } } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => await repo.rotate('h1', `next-${i}`, 1000, 9000)))
    t.equal(results.filter((result) => result === 'rotated').length, 1)
    t.ok(results.includes('reused'), 'the others count as reuse')
    t.match(await repo.find('h1'), { revoked_at: 1000 })
  })

  t.test('refresh tokens: revokeUser revokes only that user\'s live families and returns their ids', async (t) => {
    const { store: { refreshTokens: repo } } = await open(t)
    await repo.createFamily(family('f1'), 'h1', 5000)
    await repo.createFamily(family('f2'), 'h2', 5000)
    await repo.createFamily(family('f3', 'alice'), 'h3', 5000)
    await repo.revokeFamily('f1', 100)
    t.same(await repo.revokeUser('bob', 200), ['f2'])
    t.match(await repo.find('h3'), { revoked_at: null })
    t.same(await repo.revokedAfter(150), [{ id: 'f2', revoked_at: 200 }])
    t.same(await repo.revokedAfter(0), [{ id: 'f1', revoked_at: 100 }, { id: 'f2', revoked_at: 200 }])
  })

  t.test('refresh tokens: prune deletes expired tokens and families, and families revoked before the cut-off', async (t) => {
    const { store: { refreshTokens: repo }, rows } = await open(t)
    await repo.createFamily(family('expired'), 'h1', 1000)
    await repo.createFamily(family('live'), 'h2', 5000)
    await repo.rotate('h2', 'h3', 500, 9000) // h2 (expires 5000) is retired, h3 is live
    await repo.createFamily(family('revoked-long-ago'), 'h4', 9000)
    await repo.revokeFamily('revoked-long-ago', 100)
    await repo.createFamily(family('revoked-recently'), 'h5', 9000)
    await repo.revokeFamily('revoked-recently', 5500)
    await repo.prune(6000, 5000)
    t.same(await rows('SELECT id FROM refresh_families ORDER BY id'), [{ id: 'live' }, { id: 'revoked-recently' }])
    // h1 and h2 expired, h4 went with its family; h5 stays with its recently revoked family.
    t.same(await rows('SELECT token_hash FROM refresh_tokens ORDER BY token_hash'), [{ token_hash: 'h3' }, { token_hash: 'h5' }])
  })

  t.test('the store is ready, says where it is without a password, and closes', async (t) => {
    const { store } = await open(t)
    await store.checkReady()
    t.doesNotThrow(() => { store.checkWrite() })
    t.notMatch(store.location, /:[^/:@]*@/, 'no password')
    t.doesNotThrow(() => { store.changes.poll() })
  })
}
