import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOB, buildTestApp, call, login } from '../helper.js'
import { keyFiles } from '../key-files.js'
import { revoke } from '../oauth-helpers.js'

// API.md "Authentication and authorization", "malformed": a JWS has one spelling, RFC 7515 §2 base64url
// without padding, whose last character's unused low bits are zero (RFC 4648 §3.5). Decoders ignore those
// bits, so without a check each token would have 4 (HS256) or 16 (EdDSA, RS256) accepted spellings.
const MALFORMED = 'Bearer error="invalid_token", error_description="The access token is malformed"'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const me = { method: 'GET', url: '/users/me' } as const

/** Every other spelling of the token that decodes to the same bytes: stray low bits in each segment's last character. */
function respellings (token: string): string[] {
  const segments = token.split('.')
  const spellings: string[] = []
  segments.forEach((segment, index) => {
    const unusedBits = [0, 0, 4, 2][segment.length % 4] as number
    const last = ALPHABET.indexOf(segment.slice(-1))
    for (let stray = 1; stray < 2 ** unusedBits; stray++) {
      const respelled = segment.slice(0, -1) + ALPHABET.charAt(last | stray)
      spellings.push(segments.map((part, i) => (i === index ? respelled : part)).join('.'))
    }
  })
  return spellings
}

const ALGORITHMS: Array<{ alg: string, env: (t: Test) => Record<string, string>, signatureSpellings: number }> = [
  { alg: 'HS256', env: () => ({}), signatureSpellings: 4 },
  { alg: 'EdDSA', env: (t) => ({ JWT_PRIVATE_KEY_FILE: keyFiles(t, 'ed25519').privateKeyPath }), signatureSpellings: 16 },
  { alg: 'RS256', env: (t) => ({ JWT_PRIVATE_KEY_FILE: keyFiles(t, 'rsa').privateKeyPath }), signatureSpellings: 16 }
]

async function assertRefused (t: Test, app: FastifyInstance, token: string, what: string): Promise<void> {
  const res = await call(app, token, me)
  t.equal(res.statusCode, 401, what)
  t.equal(res.headers['www-authenticate'], MALFORMED, what)
}

for (const { alg, env, signatureSpellings } of ALGORITHMS) {
  t.test(`${alg}: only the canonical spelling of a token is accepted, whichever spelling comes first`, async (t) => {
    const app = buildTestApp(t, { env: env(t) })
    const token = await login(app, BOB)
    const signature = token.split('.')[2] as string
    t.equal(respellings(signature).length, signatureSpellings - 1, `the signature has ${signatureSpellings} spellings`)
    const others = respellings(token)
    // Refused before the canonical token was ever verified, and after it was (and kept by the guard).
    for (const other of others) await assertRefused(t, app, other, `before: ${other.slice(-8)}`)
    t.equal((await call(app, token, me)).statusCode, 200, 'the canonical spelling is accepted')
    for (const other of others) await assertRefused(t, app, other, `after: ${other.slice(-8)}`)
    t.equal((await call(app, token, me)).statusCode, 200, 'and still accepted')
  })
}

t.test('padding, standard base64 characters and a lone trailing character are refused', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const [header, payload, signature] = token.split('.') as [string, string, string]
  t.equal(header.length % 4, 0, 'the HS256 header is whole groups of 4 characters')
  const cases: Record<string, string> = {
    'padded signature': `${token}=`,
    'padded twice': `${token}==`,
    // Node's base64url decoder also reads the standard alphabet's + and /.
    'a + for a - or a _': `${header}.${payload}.${signature.replace(/[-_]|$/, (c) => (c === '_' ? '/' : '+'))}`,
    // Decoders drop a lone 6-bit character: the same bytes as the header alone.
    'a lone character after the header': `${header}A.${payload}.${signature}`
  }
  for (const [what, other] of Object.entries(cases)) await assertRefused(t, app, other, what)
  // Padding inside the token is not even a b64token (RFC 6750 §2.1): the header itself is malformed.
  const res = await call(app, `${header}.${payload}${'='.repeat((4 - (payload.length % 4)) % 4) || '===='}.${signature}`, me)
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The Authorization header is malformed"')
  t.equal((await call(app, token, me)).statusCode, 200)
})

// API.md "Tokens", /revoke: "an access token given here revokes its login too" — only its one spelling.
t.test('POST /revoke ignores another spelling of an access token', async (t) => {
  const app = buildTestApp(t)
  const token = await login(app, BOB)
  const res = await revoke(app, { token: respellings(token).at(-1) as string })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {})
  t.equal((await call(app, token, me)).statusCode, 200, 'the login was not revoked')
})
