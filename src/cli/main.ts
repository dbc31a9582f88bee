import { loadConfig } from '../config.js'
import { revokingLogins } from '../logins.js'
import { createPasswordHasher } from '../passwords.js'
import { openStore } from '../store/store.js'
import { run } from './commands.js'
import type { CliIo } from './io.js'
import { parseCommand, type Command } from './parse.js'
import { USAGE } from './usage.js'

/**
 * The `secure-api` command line: parse (./parse.ts), then run one command (./commands.ts) on the
 * server's database. Returns the exit code: 0 done, 1 error, 2 wrong usage.
 */
export async function main (argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command
  try {
    command = parseCommand(argv)
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (command.name === 'help') {
    io.stdout.write(USAGE)
    return 0
  }
  try {
    // The server's own configuration, so the CLI works on the server's database.
    const { databasePath, databaseUrl } = loadConfig(io.env)
    const store = await openStore({ databasePath, databaseUrl, watchChanges: false })
    try {
      const now = io.now ?? Date.now
      // As in the server (src/logins.ts): deleting a user, or a change that revokes its tokens, also
      // revokes its logins in the database, refresh tokens included (API.md "Authentication and authorization").
      const users = revokingLogins(store.users, {
        revokeUser: async (username) => { await store.refreshTokens.revokeUser(username, now()) }
      })
      const passwords = createPasswordHasher({ cost: io.hashCost ?? 'owasp' })
      await run(command, { io, databasePath: store.location, users, passwords, now })
    } finally {
      await store.close()
    }
    return 0
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`)
    return 1
  }
}
