import type { NewFamily, RefreshTokenRecord, RefreshTokensRepository, RotateResult } from '../refresh-tokens.js'
import type { SqliteDatabase } from './db.js'

export function createRefreshTokensRepository (db: SqliteDatabase): RefreshTokensRepository {
  const findStatement = db.prepare<[string], RefreshTokenRecord>(`SELECT t.token_hash, t.family_id, t.expires_at, t.used_at,
      f.username, f.scope, f.generation, f.revoked_at
    FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?`)
  const insertFamily = db.prepare(
    'INSERT INTO refresh_families (id, username, scope, generation, expires_at) VALUES (@id, @username, @scope, @generation, @expires_at)'
  )
  const insertToken = db.prepare('INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (?, ?, ?)')
  const markUsed = db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?')
  const extendFamily = db.prepare('UPDATE refresh_families SET expires_at = ? WHERE id = ?')
  const revokeFamilyStatement = db.prepare('UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
  const revokeUserStatement = db.prepare<[number, string], { id: string }>(
    'UPDATE refresh_families SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL RETURNING id')
  const revokedAfterStatement = db.prepare<[number], { id: string, revoked_at: number }>(
    'SELECT id, revoked_at FROM refresh_families WHERE revoked_at > ? ORDER BY revoked_at')
  const pruneTokens = db.prepare('DELETE FROM refresh_tokens WHERE expires_at <= ?')
  const pruneFamilies = db.prepare(`DELETE FROM refresh_families
    WHERE (revoked_at IS NULL AND expires_at <= @now) OR revoked_at < @revokedBefore`)

  const revokeFamily = (familyId: string, now: number): boolean => revokeFamilyStatement.run(now, familyId).changes > 0

  const createFamily = db.transaction((family: NewFamily, tokenHash: string, expiresAt: number) => {
    insertFamily.run({ ...family, expires_at: expiresAt })
    insertToken.run(tokenHash, family.id, expiresAt)
  })

  const rotate = db.transaction((tokenHash: string, successorHash: string, now: number, expiresAt: number): RotateResult => {
    const token = findStatement.get(tokenHash)
    if (token === undefined || token.revoked_at !== null || token.expires_at <= now) return 'invalid'
    if (token.used_at !== null) {
      revokeFamily(token.family_id, now)
      return 'reused'
    }
    markUsed.run(now, tokenHash)
    insertToken.run(successorHash, token.family_id, expiresAt)
    extendFamily.run(expiresAt, token.family_id)
    return 'rotated'
  })

  const prune = db.transaction((now: number, revokedBefore: number) => {
    pruneTokens.run(now)
    pruneFamilies.run({ now, revokedBefore })
  })

  return {
    find: async (tokenHash) => findStatement.get(tokenHash),
    createFamily: async (family, tokenHash, expiresAt) => { createFamily(family, tokenHash, expiresAt) },
    // IMMEDIATE takes the write lock before reading, so another process cannot rotate the same token in between.
    rotate: async (tokenHash, successorHash, now, expiresAt) => rotate.immediate(tokenHash, successorHash, now, expiresAt),
    revokeFamily: async (familyId, now) => revokeFamily(familyId, now),
    revokeUser: async (username, now) => revokeUserStatement.all(now, username).map((row) => row.id),
    revokedAfter: async (time) => revokedAfterStatement.all(time),
    prune: async (now, revokedBefore) => { prune(now, revokedBefore) }
  }
}
