/**
 * What another writer changed: a user, a login revoked (at `revokedAt`), or (neither set) anything
 * at all. A writer is another process on the same SQLite file (the CLI), or another instance on the
 * same PostgreSQL database; this process's own writes go through its repositories and update its
 * caches directly. `resync` says the feed reconnected: anything may have changed while it was down,
 * revoked logins included, so whatever was derived from the database is read again.
 */
export interface StoreChange {
  username?: string
  login?: { id: string, revokedAt: number }
  resync?: true
}

/**
 * May return a promise: a feed that resyncs waits for it (the revoked logins read again) before it
 * calls itself live, so no request is answered from what was read before the gap.
 */
export type ChangeListener = (change: StoreChange) => void | Promise<void>

/**
 * The store's signal that data changed behind this process's back, so in-process state (the user
 * state cache, the item page cache, the revoked logins) is dropped or updated before it could answer
 * from old data (API.md "Authentication and authorization": changes take effect immediately,
 * whoever made them; "Several instances": within 1 s).
 */
export interface ChangeSignal {
  /**
   * Looks for changes committed by other writers since the last poll and tells the listeners
   * before returning. Cheap and synchronous, at most one statement: the server polls once per turn
   * of the event loop that read requests (plugins/db.ts). Never throws: when it cannot tell, it
   * reports a change of anything.
   */
  poll (): void
  /**
   * Whether every change committed by another writer reaches the listeners (by `poll`, or pushed by
   * a feed that is connected and whose heartbeat arrives). While false, nothing cached may be
   * trusted: a request reads what it needs from the database. A boolean read: the server asks once
   * per request.
   */
  live (): boolean
  /** Returns the function that unsubscribes. */
  subscribe (listener: ChangeListener): () => void
}

/** Listeners and their notification; an adapter adds how changes are found (`poll`) or pushed (`emit`). */
export function createChangeSignal (
  poll: (emit: (change: StoreChange) => Promise<void>) => void = () => {},
  live: () => boolean = () => true
): ChangeSignal & { emit: (change: StoreChange) => Promise<void> } {
  const listeners = new Set<ChangeListener>()
  const emit = async (change: StoreChange): Promise<void> => {
    const pending: Array<Promise<void>> = []
    for (const listener of listeners) {
      const result = listener(change)
      if (result !== undefined) pending.push(result)
    }
    await Promise.all(pending)
  }
  return {
    poll: () => { poll(emit) },
    live,
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    emit
  }
}
