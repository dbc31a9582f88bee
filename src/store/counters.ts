/**
 * Counters shared by every instance on one database (API.md "Several instances": LOGIN_MAX_FAILURES
 * and TOKEN_RATE_LIMIT count across all instances). Each call is one atomic statement, so
 * instances counting the same key at once never lose a count. Times in milliseconds.
 */
export interface CountersRepository {
  /**
   * Counts a failure at `at` for `key` unless `max` failures already lie in the sliding window
   * (`windowMs` back from `at`). Returns whether it was counted, and the oldest failure in the window.
   */
  countFailure (key: string, at: number, max: number, windowMs: number): Promise<{ counted: boolean, oldest: number }>
  /** Un-counts one failure counted at `at` (a password that proved right, or was never checked). */
  uncountFailure (key: string, at: number): Promise<void>
  /** One more hit in the key's fixed window, a new window starting when the last one ended. */
  hit (key: string, at: number, windowMs: number): Promise<{ count: number, started: number }>
  /** Deletes failures and windows that ended by `at`. */
  prune (at: number): Promise<void>
}
