import t from 'tap'
import { openDatabase } from '../../../src/db.js'
import { createUsersRepository, UsernameTakenError, type NewUser } from '../../../src/repositories/users.js'
import { createUserStateCache, keepingStateCurrent } from '../../../src/user-state.js'

const NOW = new Date('2026-01-02T03:04:05.000Z')
const user = (username: string, extra: Partial<NewUser> = {}): NewUser => ({ username, password_hash: `hash-of-${username}`, roles: ['client'], ...extra })

function repository (t: { teardown (fn: () => unknown): void }) {
  const db = openDatabase(':memory:')
  t.teardown(() => db.close())
  return createUsersRepository(db)
}

t.test('createMany() creates every user and returns them as stored', async (t) => {
  const users = repository(t)
  const created = await users.createMany([user('alice', { disabled: true, email: 'a@example.com' }), user('johndoe', { roles: ['admin'], full_name: 'John Doe' })], NOW)
  t.match(created, [
    { username: 'alice', disabled: true, email: 'a@example.com', full_name: null, roles: ['client'], password_hash: 'hash-of-alice', token_generation: Number, created_at: NOW.toISOString() },
    { username: 'johndoe', disabled: false, email: null, full_name: 'John Doe', roles: ['admin'] }
  ])
  t.equal(await users.count(), 2)
})

t.test('createMany() creates none when one username is taken, and says which', async (t) => {
  const users = repository(t)
  await users.create(user('bob'), NOW)
  await t.rejects(users.createMany([user('alice'), user('bob'), user('carol')], NOW), new UsernameTakenError('bob'))
  t.equal(await users.find('alice'), undefined)
  t.equal(await users.count(), 1)
})

t.test('createMany() creates none when the list names a user twice', async (t) => {
  const users = repository(t)
  await t.rejects(users.createMany([user('alice'), user('alice')], NOW), UsernameTakenError)
  t.equal(await users.count(), 0)
})

t.test('createMany() passes other database errors on, and creates none', async (t) => {
  const users = repository(t)
  await t.rejects(users.createMany([user('alice'), user('bob', { password_hash: null as unknown as string })], NOW), { code: 'SQLITE_CONSTRAINT_NOTNULL' })
  t.equal(await users.count(), 0)
})

// API.md "Authentication and authorization": changes take effect immediately, so the cache must learn of imports too.
t.test('createMany() through keepingStateCurrent() puts the new users in the user-state cache', async (t) => {
  const users = repository(t)
  const cache = createUserStateCache({ load: users.find, now: () => 0 })
  await cache.load('alice') // cached as "no such user"
  t.equal(cache.peek('alice'), null)
  const [alice] = await keepingStateCurrent(users, cache).createMany([user('alice')], NOW)
  t.same(cache.peek('alice'), { roles: ['client'], disabled: false, generation: alice?.token_generation })
})
