import t, { type Test } from 'tap'
import { openDatabase } from '../../../src/db.js'
import { createUsersRepository, type NewUser } from '../../../src/repositories/users.js'

const NOW = new Date('2026-01-02T03:04:05.000Z')
const user = (username: string): NewUser => ({ username, password_hash: `hash-of-${username}`, roles: ['client'] })

function repository (t: { teardown (fn: () => unknown): void }) {
  const db = openDatabase(':memory:')
  t.teardown(() => db.close())
  return createUsersRepository(db)
}

/** A starting generation as the repository must give it: random, 48 bits, exact in a double and in the jti. */
function assertRandomStart (t: Test, generation: number): void {
  t.ok(Number.isSafeInteger(generation) && generation >= 0 && generation < 2 ** 48, `${generation} is a 48-bit integer`)
}

// API.md "Authentication and authorization", last paragraph: a token issued to a deleted user never
// authorizes anything again, also after a user is created under the same name. Each new user starts
// at a random generation, so the old tokens' generation does not match the new user's, whatever path
// created it (API, command line, import) and whether or not the old logins are still stored.
t.test('create() and createMany() give every new user its own random token generation', async (t) => {
  const users = repository(t)
  const created = [
    await users.create(user('alice'), NOW),
    await users.create(user('bob'), NOW),
    ...await users.createMany([user('carol'), user('dave')], NOW)
  ]
  const generations = created.map((record) => record.token_generation)
  for (const generation of generations) assertRandomStart(t, generation)
  t.equal(new Set(generations).size, generations.length, 'no two alike')
  t.same(await Promise.all(created.map(async (record) => (await users.find(record.username))?.token_generation)), generations, 'as stored')
})

t.test('a user deleted and created again under the same name starts at a new generation', async (t) => {
  const users = repository(t)
  const seen = new Set<number>()
  for (let i = 0; i < 5; i++) {
    const { token_generation: generation } = await users.create(user('bob'), NOW)
    assertRandomStart(t, generation)
    seen.add(generation)
    t.equal(await users.delete('bob'), true)
  }
  t.equal(seen.size, 5)
})
