import t from 'tap'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { loadConfig } from '../../src/config.js'
import { KeyError, createKeySet, parsePrivateKey, parsePublicKey, thumbprint } from '../../src/keys.js'
import { TEST_ENV } from '../helper.js'
import { keyFiles, textFile } from '../key-files.js'

t.test('an Ed25519 private key signs with EdDSA and publishes an OKP key whose kid is its RFC 7638 thumbprint', async (t) => {
  const { privateKeyPem } = keyFiles(t, 'ed25519')
  const key = parsePrivateKey(privateKeyPem)
  t.equal(key.alg, 'EdDSA')
  t.same(Object.keys(key.jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'])
  t.match(key.jwk, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: key.kid })
  t.equal(key.kid, await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: key.jwk.x }, 'sha256'))
  t.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/)
  t.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/)
})

t.test('an RSA private key signs with RS256 and publishes an RSA key without private members', async (t) => {
  const { privateKeyPem } = keyFiles(t, 'rsa')
  const key = parsePrivateKey(privateKeyPem)
  t.equal(key.alg, 'RS256')
  t.same(Object.keys(key.jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
  t.equal(key.jwk.e, 'AQAB')
  t.equal(key.kid, await calculateJwkThumbprint({ kty: 'RSA', n: key.jwk.n, e: key.jwk.e }, 'sha256'))
})

t.test('an RSA key in PKCS#1 PEM is read too', async (t) => {
  const { privateKeyPem } = keyFiles(t, 'rsa')
  const pkcs1 = createPrivateKey(privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString()
  t.match(pkcs1, /BEGIN RSA PRIVATE KEY/)
  t.equal(parsePrivateKey(pkcs1).kid, parsePrivateKey(privateKeyPem).kid)
})

t.test('the thumbprint matches RFC 8037 appendix A.3', async (t) => {
  t.equal(thumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }),
    'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
})

t.test('a public key and its private key have the same kid', async (t) => {
  const { privateKeyPem, publicKeyPem } = keyFiles(t, 'ed25519')
  const key = parsePublicKey(publicKeyPem)
  t.equal(key.kid, parsePrivateKey(privateKeyPem).kid)
  t.equal(parsePublicKey(privateKeyPem).kid, key.kid, 'a private key PEM gives its public half')
})

t.test('keys other than Ed25519 and RSA of 2048 bits or more are refused', async (t) => {
  for (const type of ['ec', 'rsa-1024', 'rsa-pss'] as const) {
    const { privateKeyPem, publicKeyPem } = keyFiles(t, type)
    t.throws(() => parsePrivateKey(privateKeyPem), KeyError, type)
    t.throws(() => parsePublicKey(publicKeyPem), KeyError, type)
  }
  const { privateKeyPem } = keyFiles(t, 'ec')
  t.throws(() => parsePrivateKey(privateKeyPem), { message: 'ec keys are not supported; use Ed25519 (EdDSA) or RSA (RS256)' })
  const { publicKeyPem } = keyFiles(t, 'rsa-1024')
  t.throws(() => parsePublicKey(publicKeyPem), { message: 'RSA keys must have at least 2048 bits' })
})

t.test('text that is not a PEM key, a public key as private key and an encrypted key are refused', async (t) => {
  const { publicKeyPem } = keyFiles(t, 'ed25519')
  const encrypted = generateKeyPairSync('ed25519').privateKey
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'passphrase' }).toString()
  t.throws(() => parsePrivateKey('not a key'), { name: 'KeyError', message: 'not a readable, unencrypted PEM private key' })
  t.throws(() => parsePrivateKey(publicKeyPem), KeyError)
  t.throws(() => parsePrivateKey(encrypted), KeyError)
  t.throws(() => parsePublicKey('not a key'), { name: 'KeyError', message: 'not a readable PEM public key' })
})

t.test('without a key file the key set signs with HS256 and publishes no key', async (t) => {
  const keys = createKeySet({ secret: 's'.repeat(32), previousPublicKeyPems: [] })
  t.same(keys.signer, { alg: 'HS256', secret: 's'.repeat(32) })
  t.same(keys.verificationKeys, [])
  t.same(keys.jwks, { keys: [] })
})

t.test('the key set publishes the signing key first, then each previous key once', async (t) => {
  const current = keyFiles(t, 'ed25519')
  const previous = keyFiles(t, 'rsa')
  const keys = createKeySet({
    secret: 's'.repeat(32),
    privateKeyPem: current.privateKeyPem,
    previousPublicKeyPems: [previous.publicKeyPem, current.publicKeyPem, previous.publicKeyPem]
  })
  t.equal(keys.signer.alg, 'EdDSA')
  t.same(keys.jwks.keys.map((key) => key.kid), [parsePublicKey(current.publicKeyPem).kid, parsePublicKey(previous.publicKeyPem).kid])
  t.same(keys.jwks.keys.map((key) => key.alg), ['EdDSA', 'RS256'])
})

t.test('previous public keys are kept under HS256 too, so a move back from a key file keeps them verifiable', async (t) => {
  const previous = keyFiles(t, 'ed25519')
  const keys = createKeySet({ secret: 's'.repeat(32), previousPublicKeyPems: [previous.publicKeyPem] })
  t.equal(keys.signer.alg, 'HS256')
  t.equal(keys.jwks.keys.length, 1)
})

// API.md "Running": a bad value stops the start with one line naming the variable.
t.test('a key file that is not an Ed25519 or RSA private key is a configuration error naming JWT_PRIVATE_KEY_FILE', async (t) => {
  const ec = keyFiles(t, 'ec')
  t.throws(() => loadConfig({ ...TEST_ENV, JWT_PRIVATE_KEY_FILE: ec.privateKeyPath }),
    {
      name: 'ConfigError',
      message: `JWT_PRIVATE_KEY_FILE: ${ec.privateKeyPath}: ec keys are not supported; use Ed25519 (EdDSA) or RSA (RS256)`
    })
  const garbage = textFile(t, 'hello')
  t.throws(() => loadConfig({ ...TEST_ENV, JWT_PRIVATE_KEY_FILE: garbage }),
    { name: 'ConfigError', message: `JWT_PRIVATE_KEY_FILE: ${garbage}: not a readable, unencrypted PEM private key` })
  const rsa = keyFiles(t, 'rsa')
  t.throws(() => loadConfig({ ...TEST_ENV, JWT_PRIVATE_KEY_FILE: rsa.publicKeyPath }),
    { name: 'ConfigError', message: /^JWT_PRIVATE_KEY_FILE: / })
  t.equal(loadConfig({ ...TEST_ENV, JWT_PRIVATE_KEY_FILE: rsa.privateKeyPath }).jwtPrivateKey, rsa.privateKeyPem)
})

t.test('a previous key that is not an Ed25519 or RSA public key is a configuration error naming JWT_PREVIOUS_PUBLIC_KEYS', async (t) => {
  const good = keyFiles(t, 'ed25519')
  const weak = keyFiles(t, 'rsa-1024')
  t.throws(() => loadConfig({ ...TEST_ENV, JWT_PREVIOUS_PUBLIC_KEYS: `${good.publicKeyPath}, ${weak.publicKeyPath}` }),
    { name: 'ConfigError', message: `JWT_PREVIOUS_PUBLIC_KEYS: ${weak.publicKeyPath}: RSA keys must have at least 2048 bits` })
  t.same(loadConfig({ ...TEST_ENV, JWT_PREVIOUS_PUBLIC_KEYS: ` ${good.publicKeyPath} ,` }).jwtPreviousPublicKeys, [good.publicKeyPem])
})
