import { readFileSync } from 'node:fs'
import t from 'tap'
import { ImportError, parseFastApiUsers } from '../../src/user-import.js'

const FIXTURE = readFileSync(new URL('../fixtures/fastapi-users.json', import.meta.url), 'utf8')
const fixture = JSON.parse(FIXTURE) as Record<string, Record<string, unknown>>
const JOHNDOE = fixture.johndoe!

/** The ImportError's problems for a file holding `data`. */
function problemsOf (data: unknown): readonly string[] {
  try {
    parseFastApiUsers(typeof data === 'string' ? data : JSON.stringify(data))
  } catch (err) {
    if (err instanceof ImportError) return err.problems
    throw err
  }
  throw new Error('parseFastApiUsers accepted the file')
}

t.test("FastAPI's fake_users_db becomes users with their bcrypt hashes, roles and disabled flags", async (t) => {
  t.same(parseFastApiUsers(FIXTURE), [
    {
      username: 'johndoe',
      full_name: 'John Doe',
      email: 'johndoe@example.com',
      password_hash: JOHNDOE.hashed_password,
      roles: ['admin'],
      disabled: false
    },
    {
      username: 'alice',
      full_name: 'Alice Chains',
      email: 'alicechains@example.com',
      password_hash: fixture.alice!.hashed_password,
      roles: ['client'],
      disabled: true
    }
  ])
})

t.test('null or absent full_name, email and disabled are accepted, as in the FastAPI models', async (t) => {
  const { full_name: _f, email: _e, disabled: _d, ...bare } = JOHNDOE
  t.match(parseFastApiUsers(JSON.stringify({
    johndoe: { ...JOHNDOE, full_name: null, email: null, disabled: null },
    bare: { ...bare, username: 'bare' }
  })), [
    { username: 'johndoe', full_name: null, email: null, disabled: false },
    { username: 'bare', disabled: false }
  ])
})

t.test('an argon2id hash is accepted too', async (t) => {
  const hash = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'
  t.match(parseFastApiUsers(JSON.stringify({ johndoe: { ...JOHNDOE, hashed_password: hash } })), [{ password_hash: hash }])
})

t.test('a file that is not JSON, not an object, or empty is refused with the reason', async (t) => {
  t.match(problemsOf('{"johndoe": '), [/^the file is not valid JSON: /])
  t.same(problemsOf([JOHNDOE]), ["the file must hold a JSON object mapping each username to its user, like FastAPI's fake_users_db"])
  t.same(problemsOf(null), ["the file must hold a JSON object mapping each username to its user, like FastAPI's fake_users_db"])
  t.same(problemsOf({}), ['the file holds no users'])
})

t.test('each problem names its user and field, and every problem of the file is listed', async (t) => {
  const { role: _role, ...noRole } = JOHNDOE
  t.same(problemsOf({
    johndoe: { ...JOHNDOE, email: 'not-an-email', scopes: ['me'] },
    alice: noRole,
    Bob: { ...JOHNDOE, username: 'Bob', disabled: 'no' },
    carol: { ...JOHNDOE, username: 'carl', role: 'superuser', hashed_password: '$pbkdf2-sha256$29000$salt$hash' },
    dave: 'dave'
  }), [
    'user "johndoe": scopes is not a known field',
    'user "johndoe": email must match format "email"',
    'user "alice": role is required',
    'user "alice": username "johndoe" differs from its key',
    'user "Bob": username must match pattern "^[a-z0-9][a-z0-9_.-]{2,31}$"',
    'user "Bob": disabled must be boolean',
    'user "carol": username "carl" differs from its key',
    'user "carol": role "superuser" does not exist (roles: admin, client)',
    'user "carol": hashed_password must be a bcrypt ($2b$…) or argon2id hash',
    'user "dave": value must be object'
  ])
})

t.test('a very long key is shortened in messages', async (t) => {
  const key = 'k'.repeat(200)
  t.same(problemsOf({ [key]: { ...JOHNDOE, username: key } }),
    [`user "${'k'.repeat(64)}…": username must match pattern "^[a-z0-9][a-z0-9_.-]{2,31}$"`])
})

// Issue 12.5: a hash too costly to verify would let one login hold a hashing slot for seconds, or exhaust memory.
t.test('hashes whose cost exceeds the limits are refused, each with its reason', async (t) => {
  const bcrypt = (cost: string) => JOHNDOE.hashed_password!.toString().replace(/^\$2b\$12\$/, `$2b$${cost}$`)
  const argon2 = (params: string) => `$argon2id$v=19$${params}$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g`
  const entries: Record<string, string> = {
    bcrypt15: bcrypt('15'),
    bcrypt31: bcrypt('31'),
    memory: argon2('m=262145,t=1,p=1'),
    time: argon2('m=19456,t=11,p=1'),
    notime: argon2('m=19456,p=1'),
    lanes: argon2('m=19456,t=2,p=9'),
    nolanes: argon2('m=19456,t=2,p=0')
  }
  const data = Object.fromEntries(Object.entries(entries).map(([name, hash]) => [name,
    { ...JOHNDOE, username: name, hashed_password: hash }]))
  t.same(problemsOf(data), [
    'user "bcrypt15": hashed_password bcrypt cost 15 is above 14',
    'user "bcrypt31": hashed_password bcrypt cost 31 is above 14',
    'user "memory": hashed_password argon2 memory m=262145 KiB is above 262144 (256 MiB)',
    'user "time": hashed_password argon2 time cost t=11 is outside 1..10',
    'user "notime": hashed_password argon2 time cost t=0 is outside 1..10',
    'user "lanes": hashed_password argon2 parallelism p=9 is outside 1..8',
    'user "nolanes": hashed_password argon2 parallelism p=0 is outside 1..8'
  ])
})

t.test('hashes at the limits are accepted', async (t) => {
  const atLimits = {
    bcrypt: JOHNDOE.hashed_password!.toString().replace(/^\$2b\$12\$/, '$2b$14$'),
    argon: '$argon2id$v=19$m=262144,t=10,p=8$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'
  }
  const data = Object.fromEntries(Object.entries(atLimits).map(([name, hash]) => [`${name}-user`,
    { ...JOHNDOE, username: `${name}-user`, hashed_password: hash }]))
  t.equal(parseFastApiUsers(JSON.stringify(data)).length, 2)
})
