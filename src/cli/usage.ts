import { ALL_ROLES } from '../policy.js'

/** `secure-api --help`, and what wrong usage prints after its problem. */
export const USAGE = `Usage: secure-api user COMMAND

Commands:
  user add USERNAME --roles ROLE[,ROLE] [--email EMAIL] [--full-name NAME] [--disabled]
      Creates a user. The password is asked twice on the terminal, without echo, or read
      from the first line of standard input; never from the command line.
  user list
  user disable USERNAME       Its tokens stop working, at once also on a running server.
  user enable USERNAME
  user set-roles USERNAME ROLE[,ROLE]
  user set-password USERNAME  Read as for user add. Its earlier tokens stop working.
  user delete USERNAME        Deletes the user and their items.
  user import FILE            Imports FastAPI users: a JSON object mapping each username to
      {username, full_name, email, hashed_password, disabled, role}. bcrypt hashes keep
      working; each is replaced by argon2id at the user's first login. All or nothing.
      Hashes too costly to verify at each login are refused: bcrypt cost above 14,
      argon2 above 256 MiB of memory, t above 10 or p above 8.

Roles: ${ALL_ROLES.join(', ')}. The database is DATABASE_URL (PostgreSQL) when set, else DATABASE_PATH (default ./data/app.db).
Exit codes: 0 done, 1 error, 2 wrong usage.
`
