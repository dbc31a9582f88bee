import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { seedDemoUsers } from '../src/demo-users.js'
import { createLoginService, revokingLogins, type LoginService } from '../src/logins.js'
import type { ItemsRepository } from '../src/store/items.js'
import type { RefreshTokensRepository } from '../src/store/refresh-tokens.js'
import type { SqliteDatabase } from '../src/store/sqlite/db.js'
import { openStore, type Store } from '../src/store/store.js'
import type { UsersRepository } from '../src/store/users.js'
import { CLOCK_SKEW_SECONDS } from '../src/tokens.js'
import { createUserStateCache, keepingStateCurrent, type UserStateCache } from '../src/user-state.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** SQLite or PostgreSQL (DATABASE_URL); routes use the repositories below, not this. */
    store: Store
    /** The SQLite connection, for tests and SQLite-only checks; reading it in PostgreSQL mode throws. */
    db: SqliteDatabase
    /** Every write through it updates `userState` at once, and revokes logins when it must. */
    users: UsersRepository
    items: ItemsRepository
    refreshTokens: RefreshTokensRepository
    /** Refresh token families and revoked logins. */
    logins: LoginService
    userState: UserStateCache
    /** Milliseconds since the epoch; a buildApp option so tests can move time. */
    now: () => number
  }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface DbPluginOptions {
  path: string
  /** DATABASE_URL: PostgreSQL instead of the SQLite file at `path`. */
  url?: string
  demoUsers: boolean
  now: () => number
  /** Seconds (ACCESS_TOKEN_TTL): how long a revoked login's access tokens must stay refused, with the skew. */
  accessTokenTtl: number
  /** Seconds (REFRESH_TOKEN_TTL). */
  refreshTokenTtl: number
}

async function db (app: FastifyInstance, { path, url, demoUsers, now, accessTokenTtl, refreshTokenTtl }: DbPluginOptions): Promise<void> {
  const store = await openStore({ databasePath: path, databaseUrl: url })
  app.addHook('onClose', async () => { await store.close() })
  app.decorate<Store>('store', store)
  app.decorate('db', {
    getter () {
      if (store.kind !== 'sqlite') throw new Error('app.db is the SQLite connection, and this app runs on PostgreSQL')
      return store.db
    }
  })
  const { users } = store
  const userState = createUserStateCache({ load: users.find })
  const logins = createLoginService({
    refreshTokens: store.refreshTokens,
    findUser: users.find,
    now,
    refreshTokenTtl,
    revokedRetention: (accessTokenTtl + CLOCK_SKEW_SECONDS) * 1000
  })
  // What another writer (the CLI, another instance) changed is forgotten, so the next request reads
  // it; a login revoked elsewhere is refused here too; after a gap in the feed, everything is read again.
  store.changes.subscribe((change) => {
    if (change.login !== undefined) return logins.noteRevoked(change.login.id, change.login.revokedAt)
    userState.forget(change.username)
    if (change.resync === true) return logins.load()
  })
  function checkWrite (request: FastifyRequest, done: HookHandlerDoneFunction): void {
    if (READ_METHODS.has(request.method)) return done()
    try {
      // A write to a removed SQLite file would vanish at restart: refuse it (503) until the file is back.
      store.checkWrite()
      done()
    } catch (err) {
      done(err as Error)
    }
  }
  // Before the auth hook consults the user state (API.md "Authentication and authorization": changes
  // take effect immediately, whichever tool made them), each request waits for one look for changes,
  // made once all requests read in this turn of the event loop are in: setImmediate runs after the
  // turn's I/O callbacks. A commit that ended before a request was read is therefore seen, and one
  // look (a read of SQLite's WAL index) serves every request of the turn. Their handlers then run in
  // one callback, which spares Node's per-callback work: GET /admin-only used about a fifth less CPU.
  let waiting: Array<{ request: FastifyRequest, done: HookHandlerDoneFunction }> = []
  function lookOnceForTurn (): void {
    const turn = waiting
    waiting = []
    store.changes.poll()
    for (const { request, done } of turn) admitAfterLook(request, done)
  }
  app.addHook('onRequest', (request, _reply, done) => {
    if (waiting.length === 0) setImmediate(lookOnceForTurn)
    waiting.push({ request, done })
  })
  function admitAfterLook (request: FastifyRequest, done: HookHandlerDoneFunction): void {
    if (store.changes.live() || request.routeOptions.config.public === true || request.is404) return checkWrite(request, done)
    // The change feed is down (API.md "Several instances"): a change made elsewhere meanwhile may not
    // have reached this process, so for a protected route nothing cached counts: the auth hook reads
    // the user again, and the revoked logins are read here. A database that does not answer fails
    // the request with 503, never a 200 for a token that may have been revoked.
    userState.forget()
    logins.load().then(() => { checkWrite(request, done) }, done)
  }
  app.decorate('now', now)
  app.decorate('userState', userState)
  await logins.load()
  app.decorate('users', revokingLogins(keepingStateCurrent(users, userState), logins))
  app.decorate('items', store.items)
  app.decorate('refreshTokens', store.refreshTokens)
  app.decorate('logins', logins)
  if (demoUsers) await seedDemoUsers(app.users, app.passwords, new Date(now()))
}

export default fp(db, { name: 'db', dependencies: ['passwords'] })
