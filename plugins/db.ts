import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type SqliteDatabase } from '../src/db.js'
import { seedDemoUsers } from '../src/demo-users.js'
import { createLoginService, revokingLogins, type LoginService } from '../src/logins.js'
import { createItemsRepository, type ItemsRepository } from '../src/repositories/items.js'
import { createRefreshTokensRepository, type RefreshTokensRepository } from '../src/repositories/refresh-tokens.js'
import { createUsersRepository, type UsersRepository } from '../src/repositories/users.js'
import { CLOCK_SKEW_SECONDS } from '../src/tokens.js'
import { createUserStateCache, keepingStateCurrent, type UserStateCache } from '../src/user-state.js'

declare module 'fastify' {
  interface FastifyInstance {
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

export interface DbPluginOptions {
  path: string
  demoUsers: boolean
  now: () => number
  /** Seconds (ACCESS_TOKEN_TTL): how long a revoked login's access tokens must stay refused, with the skew. */
  accessTokenTtl: number
  /** Seconds (REFRESH_TOKEN_TTL). */
  refreshTokenTtl: number
}

async function db (app: FastifyInstance, { path, demoUsers, now, accessTokenTtl, refreshTokenTtl }: DbPluginOptions): Promise<void> {
  const database = openDatabase(path)
  app.addHook('onClose', async () => { database.close() })
  const users = createUsersRepository(database)
  const userState = createUserStateCache({ load: users.find, now })
  app.decorate('db', database)
  app.decorate('now', now)
  app.decorate('userState', userState)
  const refreshTokens = createRefreshTokensRepository(database)
  const logins = createLoginService({
    refreshTokens, findUser: users.find, now, refreshTokenTtl, revokedRetention: (accessTokenTtl + CLOCK_SKEW_SECONDS) * 1000
  })
  await logins.load()
  app.decorate('users', revokingLogins(keepingStateCurrent(users, userState), logins))
  app.decorate('items', createItemsRepository(database))
  app.decorate('refreshTokens', refreshTokens)
  app.decorate('logins', logins)
  if (demoUsers) await seedDemoUsers(app.users, app.passwords, new Date(now()))
}

export default fp(db, { name: 'db', dependencies: ['passwords'] })
