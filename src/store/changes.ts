/**
 * What another writer changed: a user, a login, or (neither set) anything at all. A writer is
 * another process on the same SQLite file (the CLI), or another instance on the same PostgreSQL
 * database; this process's own writes go through its repositories and update its caches directly.
 */
export interface StoreChange {
  username?: string
  loginId?: string
}

export type ChangeListener = (change: StoreChange) => void

/**
 * The store's signal that data changed behind this process's back, so in-process state (the user
 * state cache, the item page cache) is dropped before it could answer from old data (API.md
 * "Authentication and authorization": changes take effect immediately, whoever made them).
 */
export interface ChangeSignal {
  /**
   * Looks for changes committed by other writers since the last poll and tells the listeners
   * before returning. Cheap and synchronous, at most one statement: the server polls once per
   * request. Never throws: when it cannot tell, it reports a change of anything.
   */
  poll (): void
  /** Returns the function that unsubscribes. */
  subscribe (listener: ChangeListener): () => void
}

/** Listeners and their notification; an adapter adds how changes are found (`poll`) or pushed (`emit`). */
export function createChangeSignal (poll: (emit: ChangeListener) => void = () => {}): ChangeSignal & { emit: ChangeListener } {
  const listeners = new Set<ChangeListener>()
  const emit: ChangeListener = (change) => { for (const listener of listeners) listener(change) }
  return {
    poll: () => { poll(emit) },
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    emit
  }
}
