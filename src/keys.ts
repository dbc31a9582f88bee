import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'

export type AsymmetricAlgorithm = 'EdDSA' | 'RS256'

/** A public key as RFC 7517 publishes it, with the members RFC 7638 hashes. */
export interface PublicJwk {
  kty: 'OKP' | 'RSA'
  kid: string
  alg: AsymmetricAlgorithm
  use: 'sig'
  crv?: string
  x?: string
  n?: string
  e?: string
}

/** A key that verifies tokens of one algorithm only (RFC 8725 §3.1). */
export interface VerificationKey {
  kid: string
  alg: AsymmetricAlgorithm
  publicKeyPem: string
  jwk: PublicJwk
}

export interface SigningKey extends VerificationKey {
  privateKeyPem: string
}

export class KeyError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'KeyError'
  }
}

// RFC 7518 §3.3: RSA keys of 2048 bits or more.
const MIN_RSA_BITS = 2048

function algorithmOf (key: KeyObject): AsymmetricAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'rsa') {
    // Node sets modulusLength on every RSA key.
    if ((key.asymmetricKeyDetails as { modulusLength: number }).modulusLength < MIN_RSA_BITS) {
      throw new KeyError(`RSA keys must have at least ${MIN_RSA_BITS} bits`)
    }
    return 'RS256'
  }
  throw new KeyError(`${String(key.asymmetricKeyType)} keys are not supported; use Ed25519 (EdDSA) or RSA (RS256)`)
}

/** RFC 7638 §3.2: SHA-256 of the required members only, in lexicographic order, base64url. */
export function thumbprint (jwk: { kty: string, crv?: string, x?: string, n?: string, e?: string }): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

function verificationKey (publicKey: KeyObject): VerificationKey {
  const alg = algorithmOf(publicKey)
  const exported = publicKey.export({ format: 'jwk' })
  const members = alg === 'EdDSA'
    ? { kty: 'OKP' as const, crv: exported.crv, x: exported.x }
    : { kty: 'RSA' as const, n: exported.n, e: exported.e }
  const kid = thumbprint(members)
  return {
    kid,
    alg,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    jwk: { ...members, kid, alg, use: 'sig' }
  }
}

/** Reads an unencrypted Ed25519 or RSA private key (PKCS#8, PKCS#1 or SEC1 PEM). Throws KeyError. */
export function parsePrivateKey (pem: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch {
    throw new KeyError('not a readable, unencrypted PEM private key')
  }
  const key = verificationKey(createPublicKey(privateKey))
  return { ...key, privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }
}

/** Reads an Ed25519 or RSA public key (a private key PEM gives its public half). Throws KeyError. */
export function parsePublicKey (pem: string): VerificationKey {
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey(pem)
  } catch {
    throw new KeyError('not a readable PEM public key')
  }
  return verificationKey(publicKey)
}

export type Signer =
  | { alg: 'HS256', secret: string }
  | SigningKey

export interface KeySet {
  signer: Signer
  /** Asymmetric keys that verify, by kid: the signing key first, then the previous ones. */
  verificationKeys: VerificationKey[]
  jwks: { keys: PublicJwk[] }
}

export interface KeySetInput {
  /** The HS256 secret, used only when there is no private key. */
  secret: string
  privateKeyPem?: string
  previousPublicKeyPems: readonly string[]
}

/**
 * The keys of one start: what signs, and what verifies. A private key replaces the HS256
 * secret entirely, so HS256 tokens are then refused (API.md "Tokens"). Previous public keys
 * keep verifying, and stay published, until they are taken off the list.
 */
export function createKeySet ({ secret, privateKeyPem, previousPublicKeyPems }: KeySetInput): KeySet {
  const signingKey = privateKeyPem === undefined ? undefined : parsePrivateKey(privateKeyPem)
  const verificationKeys: VerificationKey[] = signingKey === undefined ? [] : [signingKey]
  for (const pem of previousPublicKeyPems) {
    const key = parsePublicKey(pem)
    if (!verificationKeys.some((known) => known.kid === key.kid)) verificationKeys.push(key)
  }
  return {
    signer: signingKey ?? { alg: 'HS256', secret },
    verificationKeys,
    jwks: { keys: verificationKeys.map((key) => key.jwk) }
  }
}
