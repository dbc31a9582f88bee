import postgres from 'postgres'

/** A postgres (porsager) client; `Sql` and `TransactionSql` both run queries. */
export type PgSql = postgres.Sql<{ bigint: number }>
export type PgQuery = PgSql | postgres.TransactionSql<{ bigint: number }>

/**
 * One key for every schema-wide critical section (migrations, seeding), so that instances starting
 * together on an empty database take turns: pg_advisory_xact_lock holds it until the transaction ends.
 */
export const SCHEMA_LOCK = 7_311_420_061

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
    if (current > SCHEMA_VERSION) throw new Error(`the database schema (version ${current}) is newer than this server's (${SCHEMA_VERSION})`)
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

/** Connects (lazily: the first query opens connections). Numbers, not strings, for bigint columns. */
export function connect (url: string): PgSql {
  return postgres(url, {
    max: 10,
    connect_timeout: 5,
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
