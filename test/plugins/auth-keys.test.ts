import { createHmac, createPrivateKey, sign } from 'node:crypto'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { parsePublicKey } from '../../src/keys.js'
import { BOB, TEST_SECRET, buildTestApp, call, login } from '../helper.js'
import { keyFiles, type KeyFiles } from '../key-files.js'

const ISSUER = 'http://127.0.0.1:3000'
const nowSeconds = () => Math.floor(Date.now() / 1000)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const headerOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>

function claims (generation = 0): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: ISSUER,
    sub: 'bob',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    jti: `${generation}.forgedlogin.abc`,
    scope: 'items:read items:write',
    roles: ['client']
  }
}

/** bob's claims with the token generation the app holds for him now: users start at a random one. */
async function liveClaims (app: FastifyInstance): Promise<Record<string, unknown>> {
  await app.ready()
  return claims((await app.users.find('bob'))?.token_generation)
}

/** One database file for apps that stand for one server before and after a restart. */
const sharedDatabase = (t: Test) => ({ DATABASE_PATH: join(t.testdir(), 'app.db') })

type Signature = (input: string) => Buffer

/** A JWT with any header, signed by hand, so tests can make the tokens an attacker would. */
function jwt (header: Record<string, unknown>, signature: Signature | null, payload = claims()): string {
  const input = `${b64({ typ: 'at+jwt', ...header })}.${b64(payload)}`
  return `${input}.${signature === null ? '' : signature(input).toString('base64url')}`
}

const hs256 = (secret: string): Signature => (input) => createHmac('sha256', secret).update(input).digest()
const eddsa = (keys: KeyFiles): Signature => (input) => sign(null, Buffer.from(input), createPrivateKey(keys.privateKeyPem))
const rs256 = (keys: KeyFiles): Signature => (input) => sign('sha256', Buffer.from(input), createPrivateKey(keys.privateKeyPem))
const kidOf = (keys: KeyFiles) => parsePublicKey(keys.publicKeyPem).kid

const me = { method: 'GET', url: '/users/me' } as const
const challenge = (description: string) => `Bearer error="invalid_token", error_description="${description}"`

// API.md "Tokens": alg EdDSA or RS256 with kid set; kid = RFC 7638 thumbprint.
t.test('with an Ed25519 key file, access tokens are EdDSA with the key\'s thumbprint as kid', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath } })
  const token = await login(app, BOB)
  t.same(headerOf(token), { alg: 'EdDSA', typ: 'at+jwt', kid: kidOf(ed) })
  t.equal((await call(app, token, me)).statusCode, 200)
  t.equal((await call(app, jwt({ alg: 'EdDSA', kid: kidOf(ed) }, eddsa(ed), await liveClaims(app)), me)).statusCode, 200,
    'a token made by hand with the key passes too')
})

t.test('with an RSA key file, access tokens are RS256 with the key\'s thumbprint as kid', async (t) => {
  const rsa = keyFiles(t, 'rsa')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: rsa.privateKeyPath } })
  const token = await login(app, BOB)
  t.same(headerOf(token), { alg: 'RS256', typ: 'at+jwt', kid: kidOf(rsa) })
  t.equal((await call(app, token, me)).statusCode, 200)
})

t.test('under HS256, tokens carry no kid, and a token naming a kid is refused', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  t.same(headerOf(token), { alg: 'HS256', typ: 'at+jwt' })
  t.equal((await call(app, jwt({ alg: 'HS256' }, hs256(TEST_SECRET), await liveClaims(app)), me)).statusCode, 200)
  const res = await call(app, jwt({ alg: 'HS256', kid: 'some-key' }, hs256(TEST_SECRET)), me)
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], challenge('The access token names a key that is not accepted here'))
})

// API.md "Tokens": "with a key file set, HS256 tokens are refused".
t.test('with a key file set, HS256 tokens signed with JWT_SECRET are refused', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath } })
  await app.ready()
  const withoutKid = await call(app, jwt({ alg: 'HS256' }, hs256(TEST_SECRET)), me)
  t.equal(withoutKid.statusCode, 401)
  t.equal(withoutKid.headers['www-authenticate'], challenge('The access token names a key that is not accepted here'))
  const withKid = await call(app, jwt({ alg: 'HS256', kid: kidOf(ed) }, hs256(TEST_SECRET)), me)
  t.equal(withKid.statusCode, 401)
  t.equal(withKid.headers['www-authenticate'], challenge('The access token algorithm is not accepted'))
})

// RFC 8725 §2.1 / §3.1: a key verifies its own algorithm only.
t.test('algorithm confusion: an HS256 token signed with a public key\'s PEM as secret is refused', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const previous = keyFiles(t, 'rsa')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath, JWT_PREVIOUS_PUBLIC_KEYS: previous.publicKeyPath } })
  await app.ready()
  const cases = {
    'current key, its kid': jwt({ alg: 'HS256', kid: kidOf(ed) }, hs256(ed.publicKeyPem)),
    'current key, no kid': jwt({ alg: 'HS256' }, hs256(ed.publicKeyPem)),
    'previous key, its kid': jwt({ alg: 'HS256', kid: kidOf(previous) }, hs256(previous.publicKeyPem))
  }
  for (const [name, token] of Object.entries(cases)) {
    const res = await call(app, token, me)
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token"/, name)
  }
})

t.test('algorithm confusion: alg none is refused, with or without a known kid', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath } })
  await app.ready()
  for (const header of [{ alg: 'none', kid: kidOf(ed) }, { alg: 'none' }, { alg: 'EdDSA', kid: kidOf(ed) }]) {
    const res = await call(app, jwt(header, null), me)
    t.equal(res.statusCode, 401, JSON.stringify(header))
    t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token"/)
  }
})

t.test('algorithm confusion: an RS256 token is refused when the key is Ed25519', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const rsa = keyFiles(t, 'rsa')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath } })
  await app.ready()
  const underOurKid = await call(app, jwt({ alg: 'RS256', kid: kidOf(ed) }, rs256(rsa)), me)
  t.equal(underOurKid.statusCode, 401)
  t.equal(underOurKid.headers['www-authenticate'], challenge('The access token algorithm is not accepted'))
  const underItsKid = await call(app, jwt({ alg: 'RS256', kid: kidOf(rsa) }, rs256(rsa)), me)
  t.equal(underItsKid.statusCode, 401)
  t.equal(underItsKid.headers['www-authenticate'], challenge('The access token names a key that is not accepted here'))
  const otherEd = keyFiles(t, 'ed25519')
  const stolenKid = await call(app, jwt({ alg: 'EdDSA', kid: kidOf(ed) }, eddsa(otherEd)), me)
  t.equal(stolenKid.statusCode, 401)
  t.equal(stolenKid.headers['www-authenticate'], challenge('The access token signature is invalid'))
})

t.test('a token whose header is not JSON or whose kid is not a string is malformed', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_PRIVATE_KEY_FILE: ed.privateKeyPath } })
  await app.ready()
  const payload = b64(claims())
  for (const token of [`bm90IGpzb24.${payload}.sig`, jwt({ alg: 'EdDSA', kid: 42 }, eddsa(ed))]) {
    const res = await call(app, token, me)
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], challenge('The access token is malformed'))
  }
})

// API.md "Running": JWT_PREVIOUS_PUBLIC_KEYS keeps retired keys verifiable during a rotation.
t.test('key rotation: a token of the previous key passes while the key is listed and fails once it is not', async (t) => {
  const oldKey = keyFiles(t, 'ed25519')
  const newKey = keyFiles(t, 'rsa')
  const database = sharedDatabase(t)
  const before = buildTestApp(t, { env: { ...database, JWT_PRIVATE_KEY_FILE: oldKey.privateKeyPath } })
  const oldToken = await login(before, BOB)

  const during = buildTestApp(t, {
    env: {
      ...database,
      JWT_PRIVATE_KEY_FILE: newKey.privateKeyPath,
      JWT_PREVIOUS_PUBLIC_KEYS: oldKey.publicKeyPath
    }
  })
  t.equal((await call(during, oldToken, me)).statusCode, 200, 'listed: accepted')
  const newToken = await login(during, BOB)
  t.equal(headerOf(newToken).kid, kidOf(newKey), 'new tokens use the new key')
  t.equal((await call(during, newToken, me)).statusCode, 200)

  const after = buildTestApp(t, { env: { ...database, JWT_PRIVATE_KEY_FILE: newKey.privateKeyPath } })
  const res = await call(after, oldToken, me)
  t.equal(res.statusCode, 401, 'no longer listed: refused')
  t.equal(res.headers['www-authenticate'], challenge('The access token names a key that is not accepted here'))
  t.equal((await call(after, newToken, me)).statusCode, 200)
})

t.test('a previous key still verifies after moving back from a key file to HS256', async (t) => {
  const oldKey = keyFiles(t, 'ed25519')
  const database = sharedDatabase(t)
  const before = buildTestApp(t, { env: { ...database, JWT_PRIVATE_KEY_FILE: oldKey.privateKeyPath } })
  const oldToken = await login(before, BOB)
  const after = buildTestApp(t, { env: { ...database, JWT_PREVIOUS_PUBLIC_KEYS: oldKey.publicKeyPath } })
  t.equal((await call(after, oldToken, me)).statusCode, 200)
  t.same(headerOf(await login(after, BOB)), { alg: 'HS256', typ: 'at+jwt' })
})

t.test('a previous key checks issuer, audience and typ like the signing key', async (t) => {
  const oldKey = keyFiles(t, 'ed25519')
  const app = buildTestApp(t, { env: { JWT_PREVIOUS_PUBLIC_KEYS: oldKey.publicKeyPath } })
  await app.ready()
  const kid = kidOf(oldKey)
  const cases = {
    'wrong iss': jwt({ alg: 'EdDSA', kid }, eddsa(oldKey), { ...claims(), iss: 'https://evil.example' }),
    'wrong aud': jwt({ alg: 'EdDSA', kid }, eddsa(oldKey), { ...claims(), aud: 'https://other.example' }),
    'typ JWT': jwt({ alg: 'EdDSA', kid, typ: 'JWT' }, eddsa(oldKey)),
    expired: jwt({ alg: 'EdDSA', kid }, eddsa(oldKey), { ...claims(), exp: nowSeconds() - 60 })
  }
  for (const [name, token] of Object.entries(cases)) {
    t.equal((await call(app, token, me)).statusCode, 401, name)
  }
  t.equal((await call(app, jwt({ alg: 'EdDSA', kid }, eddsa(oldKey), await liveClaims(app)), me)).statusCode, 200)
})

// API.md "Running": JWT_SECRET defaults to a random key per start.
t.test('without JWT_SECRET or a key file, tokens are signed with a random HS256 key of this start', async (t) => {
  const app = buildTestApp(t, { env: { JWT_SECRET: '' } })
  const token = await login(app, BOB)
  t.same(headerOf(token), { alg: 'HS256', typ: 'at+jwt' })
  t.equal((await call(app, token, me)).statusCode, 200)
  const res = await call(app, jwt({ alg: 'HS256' }, hs256(TEST_SECRET)), me)
  t.equal(res.statusCode, 401, 'the test secret is not the key')
  const other = buildTestApp(t, { env: { JWT_SECRET: '' } })
  t.equal((await call(other, token, me)).statusCode, 401, 'another start has another key')
})
