import t from 'tap'
import { createHash } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { parsePrivateKey } from '../../src/keys.js'
import {
  TokenKeyError, accessTokenVerifyOptions, claimsProblem, hashRefreshToken, headerKid, isCanonicalBase64url, isCanonicalCompactJws,
  keyVerifier, newLoginId, newRefreshToken, parseJti, verifierByKid, type AccessTokenClaims
} from '../../src/tokens.js'
import { keyFiles } from '../key-files.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const nowSeconds = () => Math.floor(Date.now() / 1000)

t.test('a refresh token carries 256 random bits in base64url and is stored as its SHA-256', async (t) => {
  const token = newRefreshToken()
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  t.not(newRefreshToken(), token)
  t.equal(hashRefreshToken(token), createHash('sha256').update(token).digest('base64url'))
  t.not(hashRefreshToken(token), token)
})

t.test('a login id fits the jti format', async (t) => {
  const loginId = newLoginId()
  t.same(parseJti(`3.${loginId}.abc`), { generation: 3, loginId })
})

// RFC 7515 §2 and RFC 4648 §3.5: one spelling per byte string.
t.test('isCanonicalBase64url accepts only unpadded base64url whose unused low bits are zero', async (t) => {
  for (const bytes of [0, 1, 2, 3, 31, 32, 64, 256]) {
    const segment = Buffer.alloc(bytes, 0xff).toString('base64url')
    t.ok(isCanonicalBase64url(segment), `${bytes} bytes as Node encodes them`)
  }
  for (const segment of ['', 'AA', 'AQ', 'AAA', 'AAE', 'AAAA', '-_-_']) t.ok(isCanonicalBase64url(segment), segment)
  // B and R leave a low bit set after 1 byte (4 unused bits), B and F after 2 bytes (2 unused bits).
  for (const segment of ['AB', 'AR', 'AAB', 'AAF', 'A', 'AAAAA', 'AA==', 'AAA=', '+/AA', 'AA.A', 'AA A', 'AAé']) {
    t.notOk(isCanonicalBase64url(segment), segment)
  }
})

t.test('isCanonicalCompactJws wants exactly three canonical segments', async (t) => {
  t.ok(isCanonicalCompactJws('AAAA.AA.AAE'))
  t.ok(isCanonicalCompactJws('..'), 'empty segments are canonical; the verifier refuses them')
  for (const token of ['AAAA.AA', 'AAAA.AA.AAE.AA', 'AAAA', 'AB.AA.AAE', 'AAAA.AB.AAE', 'AAAA.AA.AAF', 'AAAA.AA.AAE=']) {
    t.notOk(isCanonicalCompactJws(token), token)
  }
})

t.test('headerKid reads the kid, an empty kid when there is none, and nothing from an unreadable header', async (t) => {
  t.equal(headerKid(`${b64({ alg: 'EdDSA', kid: 'k1' })}.e30.sig`), 'k1')
  t.equal(headerKid(`${b64({ alg: 'HS256' })}.e30.sig`), '')
  t.equal(headerKid(`${b64({ alg: 'HS256', kid: 7 })}.e30.sig`), undefined)
  t.equal(headerKid(`${b64('a string')}.e30.sig`), undefined)
  t.equal(headerKid(`${b64(null)}.e30.sig`), undefined)
  t.equal(headerKid('bm90IGpzb24.e30.sig'), undefined)
  t.equal(headerKid('no-dots-at-all'), undefined)
})

t.test('verifierByKid uses the verifier of the named key and refuses other kids', async (t) => {
  const seen: string[] = []
  const verify = verifierByKid(new Map([
    ['', (token: string) => { seen.push(`hs:${token}`); return {} as AccessTokenClaims }],
    ['k1', (token: string) => { seen.push(`k1:${token}`); return {} as AccessTokenClaims }]
  ]))
  const withKid = `${b64({ alg: 'EdDSA', kid: 'k1' })}.e30.sig`
  const withoutKid = `${b64({ alg: 'HS256' })}.e30.sig`
  verify(withKid)
  verify(withoutKid)
  t.same(seen, [`k1:${withKid}`, `hs:${withoutKid}`])
  t.throws(() => verify(`${b64({ alg: 'EdDSA', kid: 'k2' })}.e30.sig`), { name: 'TokenKeyError', code: 'TOKEN_KEY_UNKNOWN' })
  t.throws(() => verify('garbage'), new TokenKeyError('TOKEN_HEADER_MALFORMED'))
})

t.test('verifierByKid sends a token with the server\'s own header segment to its verifier without reading the header', async (t) => {
  const seen: string[] = []
  const own = b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })
  const verify = verifierByKid(new Map([
    ['k1', (token: string) => { seen.push(`k1:${token}`); return {} as AccessTokenClaims }],
    ['k0', (token: string) => { seen.push(`k0:${token}`); return {} as AccessTokenClaims }]
  ]), { header: own, verify: (token: string) => { seen.push(`own:${token}`); return {} as AccessTokenClaims } })
  verify(`${own}.e30.sig`)
  const longer = `${own}x.e30.sig`
  t.throws(() => verify(longer), new TokenKeyError('TOKEN_HEADER_MALFORMED'), 'a segment that only starts like it is read')
  const previous = `${b64({ alg: 'EdDSA', kid: 'k0' })}.e30.sig`
  verify(previous)
  t.same(seen, [`own:${own}.e30.sig`, `k0:${previous}`])
})

t.test('a key verifier accepts its own algorithm and key only', async (t) => {
  const ed = keyFiles(t, 'ed25519')
  const other = keyFiles(t, 'ed25519')
  const key = parsePrivateKey(ed.privateKeyPem)
  const options = accessTokenVerifyOptions({ issuer: 'https://issuer.example', audience: 'https://api.example' })
  const verify = keyVerifier(key, options)
  const claims = {
    iss: 'https://issuer.example',
    aud: 'https://api.example',
    sub: 'bob',
    iat: nowSeconds(),
    exp: nowSeconds() + 60,
    jti: '0.a.b',
    scope: '',
    roles: []
  }
  const sign = (pem: string) => createSigner({
    key: pem,
    algorithm: 'EdDSA',
    header: { alg: 'EdDSA', typ: 'at+jwt', kid: key.kid }
  })(claims)
  t.match(verify(sign(ed.privateKeyPem)), { sub: 'bob' })
  t.throws(() => verify(sign(other.privateKeyPem)), { code: 'FAST_JWT_INVALID_SIGNATURE' })
  const hs = createSigner({ key: 'x'.repeat(32), algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } })(claims)
  t.throws(() => verify(hs), { code: 'FAST_JWT_INVALID_ALGORITHM' })
})

t.test('claimsProblem refuses a token expired by the app clock beyond the skew', async (t) => {
  const now = 1_000_000
  const claims = { sub: 'bob', scope: '', jti: '0.a.b', iat: now - 100 }
  t.equal(claimsProblem({ ...claims, exp: now - 30 }, now), undefined)
  t.equal(claimsProblem({ ...claims, exp: now - 31 }, now), 'The access token expired')
  t.equal(claimsProblem({ ...claims, exp: '1' }, now), 'The access token expired')
  t.equal(claimsProblem({ ...claims, iat: '1', exp: now }, now), 'The token has no issue time')
})
