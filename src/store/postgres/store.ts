import { createChangeSignal } from '../changes.js'
import { DatabaseUnavailableError } from '../errors.js'
import type { PostgresStore } from '../store.js'
import { connect, describeUrl, migrate } from './db.js'
import { createChangeFeed, type ChangeFeed, type ChangeFeedOptions } from './feed.js'
import { createCountersRepository } from './counters.js'
import { createItemsRepository } from './items.js'
import { createRefreshTokensRepository } from './refresh-tokens.js'
import { createUsersRepository } from './users.js'

const CLOSE_TIMEOUT_SECONDS = 2

/** The change signal of a store that listens for nothing (`listen: false`): no connection, nothing to tell. */
function unwatched (): ChangeFeed {
  return {
    ...createChangeSignal(),
    start: async () => {},
    backendPid: async () => { throw new Error('this store does not listen for changes') },
    close: async () => {}
  }
}

/** The PostgreSQL store at `url`, migrated on open (API.md "Several instances (PostgreSQL)"). */
export async function openPostgresStore (
  url: string,
  { listen = true, ...feedOptions }: ChangeFeedOptions & { listen?: boolean } = {}
): Promise<PostgresStore & { changes: ChangeFeed }> {
  const sql = connect(url)
  const changes = listen ? createChangeFeed(url, sql, feedOptions) : unwatched()
  try {
    await migrate(sql)
    await changes.start()
  } catch (err) {
    await changes.close()
    await sql.end({ timeout: CLOSE_TIMEOUT_SECONDS })
    throw err
  }
  return {
    kind: 'postgres',
    location: describeUrl(url),
    users: createUsersRepository(sql),
    items: createItemsRepository(sql),
    refreshTokens: createRefreshTokensRepository(sql),
    counters: createCountersRepository(sql),
    // Other instances' and the command line's changes, pushed (LISTEN/NOTIFY): no query per request.
    changes,
    async checkReady () {
      let writable: boolean | undefined
      try {
        [{ writable } = { writable: false }] = await sql<Array<{ writable: boolean }>>`
          SELECT current_setting('transaction_read_only') = 'off' AS writable`
      } catch (err) {
        // The probe itself cannot be wrong: whatever fails is the database (unreachable, refusing, shutting down).
        throw new DatabaseUnavailableError((err as Error).message)
      }
      // A standby, or a database set read-only, answers but cannot take a write.
      if (!writable) throw new DatabaseUnavailableError('the database is read-only')
    },
    checkWrite () {},
    // A timeout, because without one end() never settles once the server closed a connection under
    // a query (porsager/postgres#1097). The server closes the store after its requests are done.
    close: async () => {
      await changes.close()
      await sql.end({ timeout: CLOSE_TIMEOUT_SECONDS })
    }
  }
}
