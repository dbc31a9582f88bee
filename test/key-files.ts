import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type KeyType = 'ed25519' | 'rsa' | 'rsa-1024' | 'ec' | 'rsa-pss'

export interface KeyFiles {
  privateKeyPem: string
  publicKeyPem: string
  privateKeyPath: string
  publicKeyPath: string
}

interface Teardown { teardown (fn: () => unknown): void }

function generate (type: KeyType): { privateKey: string, publicKey: string } {
  const pair = type === 'ed25519'
    ? generateKeyPairSync('ed25519')
    : type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa-pss'
        ? generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
        : generateKeyPairSync('rsa', { modulusLength: type === 'rsa' ? 2048 : 1024 })
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
}

/** A fresh key pair written as PEM files into a temporary folder that the test removes. Keys are never committed. */
export function keyFiles (t: Teardown, type: KeyType): KeyFiles {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const { privateKey, publicKey } = generate(type)
  const privateKeyPath = join(dir, 'private.pem')
  const publicKeyPath = join(dir, 'public.pem')
  writeFileSync(privateKeyPath, privateKey, { mode: 0o600 })
  writeFileSync(publicKeyPath, publicKey)
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, privateKeyPath, publicKeyPath }
}

/** A file with any text, for unreadable-key cases. */
export function textFile (t: Teardown, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const path = join(dir, 'file.pem')
  writeFileSync(path, text)
  return path
}
