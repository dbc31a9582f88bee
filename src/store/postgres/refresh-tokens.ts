import type { RefreshTokenRecord, RefreshTokensRepository, RotateResult } from '../refresh-tokens.js'
import type { PgQuery, PgSql } from './db.js'

export function createRefreshTokensRepository (sql: PgSql): RefreshTokensRepository {
  const revokeFamily = async (q: PgQuery, familyId: string, now: number): Promise<boolean> =>
    (await q`UPDATE refresh_families SET revoked_at = ${now} WHERE id = ${familyId} AND revoked_at IS NULL`).count > 0

  return {
    async find (tokenHash) {
      const [row] = await sql<RefreshTokenRecord[]>`SELECT t.token_hash, t.family_id, t.expires_at, t.used_at,
          f.username, f.scope, f.generation, f.revoked_at
        FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ${tokenHash}`
      return row
    },

    async createFamily (family, tokenHash, expiresAt) {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO refresh_families (id, username, scope, generation, expires_at)
          VALUES (${family.id}, ${family.username}, ${family.scope}, ${family.generation}, ${expiresAt})`
        await tx`INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (${tokenHash}, ${family.id}, ${expiresAt})`
      })
    },

    // API.md "Several instances": a refresh token presented to two instances at once is honoured
    // at most once. FOR UPDATE locks the token and its family: a second rotation waits for the
    // first to commit, then reads the token as used (reuse, which revokes the login, as in SQLite).
    rotate: async (tokenHash, successorHash, now, expiresAt) => await sql.begin(async (tx): Promise<RotateResult> => {
      const [token] = await tx<Array<Pick<RefreshTokenRecord, 'family_id' | 'expires_at' | 'used_at' | 'revoked_at'>>>`
        SELECT t.family_id, t.expires_at, t.used_at, f.revoked_at
        FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ${tokenHash} FOR UPDATE`
      if (token === undefined || token.revoked_at !== null || token.expires_at <= now) return 'invalid'
      if (token.used_at !== null) {
        await revokeFamily(tx, token.family_id, now)
        return 'reused'
      }
      await tx`UPDATE refresh_tokens SET used_at = ${now} WHERE token_hash = ${tokenHash}`
      await tx`INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (${successorHash}, ${token.family_id}, ${expiresAt})`
      await tx`UPDATE refresh_families SET expires_at = ${expiresAt} WHERE id = ${token.family_id}`
      return 'rotated'
    }) as RotateResult,

    revokeFamily: async (familyId, now) => await revokeFamily(sql, familyId, now),

    revokeUser: async (username, now) =>
      (await sql<Array<{ id: string }>>`UPDATE refresh_families SET revoked_at = ${now}
        WHERE username = ${username} AND revoked_at IS NULL RETURNING id`)
        .map((row) => row.id),

    revokedAfter: async (time) =>
      [...await sql<Array<{ id: string, revoked_at: number }>>`SELECT id, revoked_at FROM refresh_families
        WHERE revoked_at > ${time} ORDER BY revoked_at`],

    async prune (now, revokedBefore) {
      await sql.begin(async (tx) => {
        await tx`DELETE FROM refresh_tokens WHERE expires_at <= ${now}`
        await tx`DELETE FROM refresh_families WHERE (revoked_at IS NULL AND expires_at <= ${now}) OR revoked_at < ${revokedBefore}`
      })
    }
  }
}
