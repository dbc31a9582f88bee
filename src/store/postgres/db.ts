import postgres from 'postgres'

/** A postgres (porsager) client; `Sql` and `TransactionSql` both run queries. */
export type PgSql = postgres.Sql<{ bigint: number }>
export type PgQuery = PgSql | postgres.TransactionSql<{ bigint: number }>

/**
 * One key for every schema-wide critical section (migrations, seeding), so that instances starting
 * together on an empty database take turns: pg_advisory_xact_lock holds it until the transaction ends.
 */
export const SCHEMA_LOCK = 7_311_420_061

/** The channel of the change feed (src/store/postgres/feed.ts), notified by the triggers below. */
export const CHANGES_CHANNEL = 'secure_api_changes'

// Append only: each entry (a list of statements) moves schema_version from N to N+1. The tables
// and their meaning are SQLite's (src/store/sqlite/db.ts): times in milliseconds as bigint, except
// the created_at timestamps; usernames compare and sort bytewise (COLLATE "C"), as in SQLite.
const MIGRATIONS: ReadonlyArray<readonly string[]> = [
  [
    `CREATE TABLE users (
       username text COLLATE "C" PRIMARY KEY,
       email text,
       full_name text,
       password_hash text NOT NULL,
       disabled boolean NOT NULL DEFAULT false,
       roles jsonb NOT NULL DEFAULT '[]',
       token_generation bigint NOT NULL DEFAULT 0,
       created_at timestamptz NOT NULL
     )`,
    `CREATE TABLE items (
       id bigserial PRIMARY KEY,
       name text NOT NULL,
       description text,
       owner text COLLATE "C" NOT NULL REFERENCES users(username) ON DELETE CASCADE,
       created_at timestamptz NOT NULL
     )`,
    'CREATE INDEX items_owner ON items(owner, id)',
    // A family is one login; no foreign key to users, as in SQLite: a deleted user's revoked
    // families are kept for a while, so its access tokens stay refused.
    `CREATE TABLE refresh_families (
       id text PRIMARY KEY,
       username text COLLATE "C" NOT NULL,
       scope text NOT NULL,
       generation bigint NOT NULL,
       expires_at bigint NOT NULL,
       revoked_at bigint
     )`,
    'CREATE INDEX refresh_families_username ON refresh_families(username)',
    'CREATE INDEX refresh_families_expires_at ON refresh_families(expires_at)',
    'CREATE INDEX refresh_families_revoked_at ON refresh_families(revoked_at) WHERE revoked_at IS NOT NULL',
    `CREATE TABLE refresh_tokens (
       token_hash text PRIMARY KEY,
       family_id text NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
       expires_at bigint NOT NULL,
       used_at bigint
     )`,
    'CREATE INDEX refresh_tokens_family_id ON refresh_tokens(family_id)',
    'CREATE INDEX refresh_tokens_expires_at ON refresh_tokens(expires_at)'
  ],
  // The change feed (API.md "Several instances"): a trigger, not the repositories, notifies, so a
  // notification exists if and only if the write commits (NOTIFY is delivered at commit), whoever
  // wrote: an instance, the command line, or someone in psql. What a notification carries is only
  // what to forget: a username, or a revoked login with its time.
  [
    `CREATE FUNCTION notify_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' THEN
         PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('u', OLD.username)::text);
       ELSE
         PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('u', NEW.username)::text);
         IF TG_OP = 'UPDATE' AND OLD.username IS DISTINCT FROM NEW.username THEN
           PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('u', OLD.username)::text);
         END IF;
       END IF;
       RETURN NULL;
     END $$`,
    // An insert too: an instance may hold "no such user" for a name another one just created.
    'CREATE TRIGGER users_changed AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION notify_user_change()',
    // Only what the user state holds (src/user-state.ts); an email change revokes nothing.
    `CREATE TRIGGER users_state_changed AFTER UPDATE ON users FOR EACH ROW
     WHEN (OLD.token_generation IS DISTINCT FROM NEW.token_generation OR OLD.roles IS DISTINCT FROM NEW.roles
       OR OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.username IS DISTINCT FROM NEW.username)
     EXECUTE FUNCTION notify_user_change()`,
    `CREATE FUNCTION notify_login_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('l', NEW.id, 'r', NEW.revoked_at)::text);
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER refresh_family_revoked AFTER UPDATE ON refresh_families FOR EACH ROW
     WHEN (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL) EXECUTE FUNCTION notify_login_revoked()`
  ],
  // Counters shared by the instances (src/store/postgres/counters.ts). UNLOGGED: not written to the
  // WAL, so cheap to update, and emptied by a crash or a failover, which only resets the limits.
  [
    // A key's failed login times within its window, oldest first; at most LOGIN_MAX_FAILURES of them.
    `CREATE UNLOGGED TABLE login_failures (
       key text PRIMARY KEY,
       times bigint[] NOT NULL,
       refused boolean NOT NULL,
       expires_at bigint NOT NULL
     )`,
    'CREATE INDEX login_failures_expires_at ON login_failures(expires_at)',
    // One fixed window of requests per key (@fastify/rate-limit).
    `CREATE UNLOGGED TABLE rate_limits (
       key text PRIMARY KEY,
       count integer NOT NULL,
       started bigint NOT NULL,
       expires_at bigint NOT NULL
     )`,
    'CREATE INDEX rate_limits_expires_at ON rate_limits(expires_at)'
  ]
]

export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Brings the schema to SCHEMA_VERSION in one transaction under the schema lock: of several
 * instances started at once on an empty database, the first creates the tables and the others,
 * once it commits, find them there (API.md "Several instances").
 */
export async function migrate (sql: PgSql): Promise<void> {
  // Up to date: no lock and no write, so that a start is cheap, also on a read-only database.
  if (await schemaVersion(sql) === SCHEMA_VERSION) return
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`
    await tx`CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`
    const [row] = await tx<Array<{ version: number }>>`SELECT version FROM schema_version`
    if (row === undefined) await tx`INSERT INTO schema_version (version) VALUES (0)`
    const current = row?.version ?? 0
    if (current > SCHEMA_VERSION) {
      throw new Error(`the database schema (version ${current}) is newer than this server's (${SCHEMA_VERSION})`)
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version] as readonly string[]) await tx.unsafe(statement)
    }
    await tx`UPDATE schema_version SET version = ${SCHEMA_VERSION}`
  })
}

async function schemaVersion (sql: PgSql): Promise<number> {
  const [table] = await sql<Array<{ found: boolean }>>`SELECT to_regclass('schema_version') IS NOT NULL AS found`
  if (table?.found !== true) return 0
  const [row] = await sql<[{ version: number }]>`SELECT coalesce(max(version), 0) AS version FROM schema_version`
  return row.version
}

/**
 * Seconds before a connection that failed is tried again, after `retries` failures in a row. The
 * driver's default grows to 20 s, so that an instance came back up to 20 s after the database did
 * (measured: 12-13 s after a 3 s outage); API.md "Several instances" wants it back by itself, soon.
 */
export const RECONNECT_BACKOFF = (retries: number): number => Math.min(0.1 * retries, 1)

/** Connects (lazily: the first query opens connections). Numbers, not strings, for bigint columns. */
export function connect (url: string): PgSql {
  return postgres(url, {
    max: 10,
    connect_timeout: 5,
    backoff: RECONNECT_BACKOFF,
    // Notices ("relation already exists, skipping") are not for the server's log.
    onnotice: () => {},
    connection: { application_name: 'fastify-secure-api' },
    // Times in ms, ids and counts stay below 2^53, so a number holds them exactly.
    types: { bigint: { to: 20, from: [20], serialize: (value: number) => String(value), parse: (value: string) => Number(value) } }
  })
}

/** The URL without its password, for messages. */
export function describeUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}
