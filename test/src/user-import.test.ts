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
    { username: 'johndoe', full_name: 'John Doe', email: 'johndoe@example.com', password_hash: JOHNDOE.hashed_password, roles: ['admin'], disabled: false },
    { username: 'alice', full_name: 'Alice Chains', email: 'alicechains@example.com', password_hash: fixture.alice!.hashed_password, roles: ['client'], disabled: true }
  ])
})

t.test('null or absent full_name, email and disabled are accepted, as in the FastAPI models', async (t) => {
  const { full_name: _f, email: _e, disabled: _d, ...bare } = JOHNDOE
  t.match(parseFastApiUsers(JSON.stringify({ johndoe: { ...JOHNDOE, full_name: null, email: null, disabled: null }, bare: { ...bare, username: 'bare' } })), [
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
  t.same(problemsOf({ [key]: { ...JOHNDOE, username: key } }), [`user "${'k'.repeat(64)}…": username must match pattern "^[a-z0-9][a-z0-9_.-]{2,31}$"`])
})
