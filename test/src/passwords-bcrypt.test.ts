import { readFileSync } from 'node:fs'
import bcrypt from 'bcrypt'
import t from 'tap'
import { createPasswordHasher, isSupportedHash } from '../../src/passwords.js'

// API.md "Demo users": the passlib bcrypt hashes of the FastAPI example verify these same passwords.
const fastapiUsers = JSON.parse(readFileSync(new URL('../fixtures/fastapi-users.json', import.meta.url), 'utf8')) as
  Record<string, { hashed_password: string }>
const JOHNDOE_HASH = fastapiUsers.johndoe!.hashed_password

t.test("verify() accepts passlib's bcrypt hash of johndoe with his password, and nothing else", async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  t.equal(await hasher.verify(JOHNDOE_HASH, 'secret'), true)
  t.equal(await hasher.verify(JOHNDOE_HASH, 'Secret'), false)
})

t.test('verify() reads the $2a$, $2b$ and $2y$ bcrypt variants', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  const hash = await bcrypt.hash('correct horse', 4)
  for (const variant of ['2a', '2b', '2y']) {
    const variantHash = hash.replace(/^\$2.\$/, `$${variant}$`)
    t.equal(await hasher.verify(variantHash, 'correct horse'), true, variant)
    t.equal(await hasher.verify(variantHash, 'wrong horse'), false, variant)
  }
})

t.test('a bcrypt hash always needs a rehash, a fresh argon2id hash does not', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  t.equal(hasher.needsRehash(JOHNDOE_HASH), true)
  t.equal(hasher.needsRehash(await hasher.hash('correct horse')), false)
})

t.test('isSupportedHash() accepts argon2id and bcrypt hashes only', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  t.equal(isSupportedHash(JOHNDOE_HASH), true)
  t.equal(isSupportedHash(await hasher.hash('correct horse')), true)
  for (const hash of ['', 'secret', '$2b$12$short', `$2x$12$${'a'.repeat(53)}`, `$2b$03$${'a'.repeat(53)}`,
    '$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA', '$pbkdf2-sha256$29000$abc$def']) {
    t.equal(isSupportedHash(hash), false, hash)
  }
})

t.test('verify() answers false, without throwing, for a hash it cannot read', async (t) => {
  const hasher = createPasswordHasher({ cost: 'test' })
  for (const hash of ['', 'secret', `$2x$12$${'a'.repeat(53)}`, '$argon2id$garbage']) {
    t.equal(await hasher.verify(hash, 'secret'), false, hash)
  }
})
