import type { Role } from './policy.js'
import type { UserRecord, UsersRepository } from './store/users.js'

/** What the authorization hook needs to know of a user on every request. */
export interface UserState {
  roles: readonly Role[]
  disabled: boolean
  generation: number
}

export interface UserStateCache {
  /** The cached state: null for a user known not to exist, undefined when not cached. */
  peek (username: string): UserState | null | undefined
  load (username: string): Promise<UserState | null>
  /** Called by every write, so the next request sees it (API.md: "take effect immediately"). */
  update (username: string, user: UserRecord | undefined): void
  /** Drops what another writer may have changed: the user, or everyone when undefined. */
  forget (username?: string): void
}

export interface UserStateCacheOptions {
  load: (username: string) => Promise<UserRecord | undefined>
  maxEntries?: number
}

export function toUserState (user: UserRecord | undefined): UserState | null {
  return user === undefined ? null : { roles: user.roles, disabled: user.disabled, generation: user.token_generation }
}

/**
 * In-process cache of user state, so that authorizing a request reads no database. This
 * process's writes update it at once; the store's change signal makes it forget what other
 * writers (the CLI, another instance) changed, before the next request is authorized.
 * No expiry: an entry is exact until a write or a change signal says otherwise.
 */
export function createUserStateCache ({ load, maxEntries = 50_000 }: UserStateCacheOptions): UserStateCache {
  const entries = new Map<string, UserState | null>()
  const loading = new Map<string, Promise<UserState | null>>()

  function store (username: string, state: UserState | null): void {
    entries.delete(username)
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string)
    entries.set(username, state)
  }

  return {
    peek: (username) => entries.get(username),
    load (username) {
      const pending = loading.get(username)
      if (pending !== undefined) return pending
      const read = load(username).then((user) => {
        const state = toUserState(user)
        // A write during the read has already stored newer state: keep that one.
        if (loading.get(username) === read) {
          loading.delete(username)
          store(username, state)
        }
        return state
      }, (err: unknown) => {
        if (loading.get(username) === read) loading.delete(username)
        throw err
      })
      loading.set(username, read)
      return read
    },
    update (username, user) {
      loading.delete(username)
      store(username, toUserState(user))
    },
    forget (username) {
      // A read under way may have started before the change: its result must not be kept either.
      if (username === undefined) {
        entries.clear()
        loading.clear()
      } else {
        entries.delete(username)
        loading.delete(username)
      }
    }
  }
}

/** The users repository, with every write reflected in the cache as it happens. */
export function keepingStateCurrent (users: UsersRepository, cache: UserStateCache): UsersRepository {
  return {
    ...users,
    async create (user, now) {
      const created = await users.create(user, now)
      cache.update(created.username, created)
      return created
    },
    async createMany (list, now) {
      const created = await users.createMany(list, now)
      for (const user of created) cache.update(user.username, user)
      return created
    },
    async createIfNone (list, now) {
      const created = await users.createIfNone(list, now)
      for (const user of created) cache.update(user.username, user)
      return created
    },
    async update (username, changes) {
      const updated = await users.update(username, changes)
      cache.update(username, updated)
      return updated
    },
    async delete (username) {
      const deleted = await users.delete(username)
      cache.update(username, undefined)
      return deleted
    }
  }
}
