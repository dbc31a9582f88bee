import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type SqliteDatabase } from '../src/db.js'
import { seedDemoUsers } from '../src/demo-users.js'
import { createItemsRepository, type ItemsRepository } from '../src/repositories/items.js'
import { createUsersRepository, type UsersRepository } from '../src/repositories/users.js'
import { createUserStateCache, keepingStateCurrent, type UserStateCache } from '../src/user-state.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: SqliteDatabase
    /** Every write through it updates `userState` at once. */
    users: UsersRepository
    items: ItemsRepository
    userState: UserStateCache
    /** Milliseconds since the epoch; a buildApp option so tests can move time. */
    now: () => number
  }
}

export interface DbPluginOptions { path: string, demoUsers: boolean, now: () => number }

async function db (app: FastifyInstance, { path, demoUsers, now }: DbPluginOptions): Promise<void> {
  const database = openDatabase(path)
  app.addHook('onClose', async () => { database.close() })
  const users = createUsersRepository(database)
  const userState = createUserStateCache({ load: users.find, now })
  app.decorate('db', database)
  app.decorate('now', now)
  app.decorate('userState', userState)
  app.decorate('users', keepingStateCurrent(users, userState))
  app.decorate('items', createItemsRepository(database))
  if (demoUsers) await seedDemoUsers(app.users, app.passwords, new Date(now()))
}

export default fp(db, { name: 'db', dependencies: ['passwords'] })
