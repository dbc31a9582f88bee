/** A refresh token with its family (login). Only the token's SHA-256 is stored, never the token. */
export interface RefreshTokenRecord {
  token_hash: string
  family_id: string
  username: string
  /** The scope the login was granted (RFC 6749 §6: a refresh may narrow it, never widen it). */
  scope: string
  /** The user's token_generation when the login started. */
  generation: number
  /** Milliseconds since the epoch, as are the other times. */
  expires_at: number
  used_at: number | null
  revoked_at: number | null
}

export interface NewFamily {
  id: string
  username: string
  scope: string
  generation: number
}

export type RotateResult =
  | 'rotated'
  /** The token had been used already: its family is now revoked. */
  | 'reused'
  /** Unknown, expired or revoked: nothing changed. */
  | 'invalid'

/** Storage of refresh tokens. Async so that a networked store can implement it too. */
export interface RefreshTokensRepository {
  find (tokenHash: string): Promise<RefreshTokenRecord | undefined>
  /** Starts a family with its first token. */
  createFamily (family: NewFamily, tokenHash: string, expiresAt: number): Promise<void>
  /**
   * Retires a live token and stores its successor, in one transaction that also re-checks the
   * token, so two uses of one token never both succeed.
   */
  rotate (tokenHash: string, successorHash: string, now: number, expiresAt: number): Promise<RotateResult>
  /** True when the family was live. Its rows stay, with `revoked_at`, until prune() removes them. */
  revokeFamily (familyId: string, now: number): Promise<boolean>
  /** Revokes every live family of the user; returns their ids. */
  revokeUser (username: string, now: number): Promise<string[]>
  /** Families revoked after `time`, oldest first. */
  revokedAfter (time: number): Promise<Array<{ id: string, revoked_at: number }>>
  /** Deletes expired tokens and families, and families (with their tokens) revoked before `revokedBefore`. */
  prune (now: number, revokedBefore: number): Promise<void>
}
