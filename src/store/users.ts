import type { Role } from '../policy.js'

/** A user as stored. `password_hash` never leaves the server: response schemas omit it. */
export interface UserRecord {
  username: string
  email: string | null
  full_name: string | null
  password_hash: string
  disabled: boolean
  roles: Role[]
  /** Random for a new user; bumped whenever earlier tokens must stop working (password, roles, disabled). */
  token_generation: number
  created_at: string
}

export interface NewUser {
  username: string
  password_hash: string
  roles: Role[]
  email?: string | null
  full_name?: string | null
  disabled?: boolean
}

export type UserChanges = Partial<Pick<UserRecord, 'email' | 'full_name' | 'password_hash' | 'disabled' | 'roles'>>

export interface Page { limit: number, offset: number }

export class UsernameTakenError extends Error {
  constructor (username: string) {
    super(`Username "${username}" is taken`)
    this.name = 'UsernameTakenError'
  }
}

/** Storage of users. Async so that a networked store (PostgreSQL) implements it too. */
export interface UsersRepository {
  find (username: string): Promise<UserRecord | undefined>
  list (page: Page): Promise<{ users: UserRecord[], total: number }>
  count (): Promise<number>
  /** Throws UsernameTakenError. */
  create (user: NewUser, now: Date): Promise<UserRecord>
  /** All or none, in one transaction (an import). Throws UsernameTakenError for the first name taken. */
  createMany (users: readonly NewUser[], now: Date): Promise<UserRecord[]>
  /**
   * Creates all of them, in one transaction, only while there is no user at all (the demo users):
   * of several instances starting at once on an empty database, exactly one creates them.
   * Returns the users created: none when there were users already.
   */
  createIfNone (users: readonly NewUser[], now: Date): Promise<UserRecord[]>
  /** A change of password, roles or disabled bumps token_generation. Undefined when missing. */
  update (username: string, changes: UserChanges): Promise<UserRecord | undefined>
  /**
   * Replaces the hash only, without revoking tokens (a rehash on login), and only while the
   * stored hash is still `previousHash`: a password changed meanwhile is not overwritten.
   */
  replaceHash (username: string, previousHash: string, passwordHash: string): Promise<boolean>
  delete (username: string): Promise<boolean>
}

/** The changes that bump token_generation when a value really changes. */
export const REVOKING_CHANGES: ReadonlyArray<keyof UserChanges> = ['password_hash', 'roles', 'disabled']
