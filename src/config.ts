import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parsePrivateKey, parsePublicKey } from './keys.js'

const seconds = (fallback: number) => Type.Integer({ minimum: 1, maximum: 10 * 365 * 24 * 3600, default: fallback })

const EnvSchema = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  DATABASE_PATH: Type.String({ minLength: 1, default: './data/app.db' }),
  DATABASE_URL: Type.Optional(Type.String()),
  JWT_SECRET: Type.Optional(Type.String()),
  JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_PREVIOUS_PUBLIC_KEYS: Type.Optional(Type.String()),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  ACCESS_TOKEN_TTL: seconds(1800),
  REFRESH_TOKEN_TTL: seconds(1209600),
  DEMO_USERS: Type.Optional(Type.Boolean()),
  NODE_ENV: Type.Optional(Type.String()),
  LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, default: 10 }),
  LOGIN_WINDOW: seconds(900),
  TOKEN_RATE_LIMIT: Type.Integer({ minimum: 0, default: 300 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' }),
  CORS_ORIGINS: Type.Optional(Type.String()),
  TRUST_PROXY: Type.Optional(Type.String()),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 }))
})

type Env = Static<typeof EnvSchema>

/** The variables loadConfig reads; .env.example documents each (test/package/env-example.test.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.properties)

export interface Config {
  host: string
  port: number
  databasePath: string
  /** postgres://… (DATABASE_URL): PostgreSQL instead of the SQLite file at databasePath. */
  databaseUrl?: string
  /** HS256 key; undefined means "make a random one for this start". */
  jwtSecret?: string
  /** PEM text of the signing key, read from JWT_PRIVATE_KEY_FILE. */
  jwtPrivateKey?: string
  /** PEM texts of retired public keys that still verify (JWT_PREVIOUS_PUBLIC_KEYS). */
  jwtPreviousPublicKeys: string[]
  /** `http://HOST:PORT`: the default issuer. */
  origin: string
  issuer: string
  audience: string
  accessTokenTtl: number
  refreshTokenTtl: number
  demoUsers: boolean
  production: boolean
  loginMaxFailures: number
  loginWindow: number
  tokenRateLimit: number
  logLevel: string
  corsOrigins: string[]
  /** Fastify's trustProxy: the proxies' addresses and CIDR ranges; false when unset. */
  trustProxy: string[] | false
  /** Port of GET /metrics on `host` (METRICS_PORT); undefined: no metrics. */
  metricsPort?: number
}

export class ConfigError extends Error {
  constructor (variable: string, problem: string) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

function readPem (variable: string, path: string, parse: (pem: string) => unknown): string {
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  try {
    parse(pem)
  } catch (err) {
    // The parsers throw KeyError, whose message names the problem and never the key.
    throw new ConfigError(variable, `${path}: ${(err as Error).message}`)
  }
  return pem
}

/**
 * TRUST_PROXY: the proxies' addresses and CIDR ranges. Neither `true` nor a hop count: either
 * would let a client that reaches the server directly choose its own address (X-Forwarded-For)
 * for the login throttle and the rate limit; Fastify itself now refuses hop counts for that reason.
 */
function parseTrustProxy (value: string | undefined): Config['trustProxy'] {
  if (value === undefined) return false
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean)
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
    if (family === 0 || !validPrefix || extra !== undefined) {
      throw new ConfigError('TRUST_PROXY', `expected proxy addresses or CIDR ranges separated by commas (got "${entry}")`)
    }
  }
  return entries.length === 0 ? false : entries
}

/**
 * DATABASE_URL: postgres://user:password@host:port/database (postgresql:// too). The message never
 * repeats the value: it may hold a password.
 */
function parseDatabaseUrl (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('DATABASE_URL', 'must be a URL such as postgres://user:password@host:5432/database')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must start with postgres:// (got ${url.protocol}//)`)
  }
  if (url.hostname === '' || url.pathname.length <= 1) {
    throw new ConfigError('DATABASE_URL', 'must name a host and a database, as in postgres://user:password@host:5432/database')
  }
  return value
}

/** Parses the environment once, at start. Throws ConfigError naming the first bad variable. */
export function loadConfig (env: Record<string, string | undefined>): Config {
  const known: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    // An empty variable means "unset", as in a shell `FOO= npm start`.
    if (value !== undefined && value !== '') known[key] = value
  }
  for (const [key, value] of Object.entries(known)) {
    // Value.Convert would truncate "1.5" to 1; a whole number must be written as one.
    if (EnvSchema.properties[key as keyof Env].type === 'integer' && !/^-?\d+$/.test(value)) {
      throw new ConfigError(key, `must be a whole number (got "${value}")`)
    }
  }
  const parsed = Value.Convert(EnvSchema, Value.Default(EnvSchema, known)) as Env
  const firstError = Value.Errors(EnvSchema, parsed).First()
  if (firstError !== undefined) {
    const variable = firstError.path.split('/')[1] ?? 'environment'
    throw new ConfigError(variable, `${firstError.message} (got "${known[variable] ?? ''}")`)
  }

  const production = parsed.NODE_ENV === 'production'
  if (parsed.JWT_SECRET !== undefined && Buffer.byteLength(parsed.JWT_SECRET) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes')
  }
  if (production && parsed.JWT_SECRET === undefined && parsed.JWT_PRIVATE_KEY_FILE === undefined) {
    throw new ConfigError('JWT_SECRET', 'NODE_ENV=production needs JWT_SECRET or JWT_PRIVATE_KEY_FILE')
  }
  const databaseUrl = parseDatabaseUrl(parsed.DATABASE_URL)
  // API.md "Several instances": a random key per process would make each instance refuse the others' tokens.
  if (databaseUrl !== undefined && parsed.JWT_SECRET === undefined && parsed.JWT_PRIVATE_KEY_FILE === undefined) {
    throw new ConfigError('JWT_SECRET', 'DATABASE_URL needs JWT_SECRET or JWT_PRIVATE_KEY_FILE, the same for every instance')
  }
  const demoUsers = parsed.DEMO_USERS ?? !production
  if (production && demoUsers) {
    throw new ConfigError('DEMO_USERS', 'must not be true when NODE_ENV=production')
  }

  // API.md "Running": /metrics is served only on its own port, never beside the API.
  if (parsed.METRICS_PORT !== undefined && parsed.METRICS_PORT === parsed.PORT) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (both are ${parsed.PORT})`)
  }

  const origin = `http://${parsed.HOST.includes(':') ? `[${parsed.HOST}]` : parsed.HOST}:${parsed.PORT}`
  const issuer = parsed.JWT_ISSUER ?? origin
  return {
    host: parsed.HOST,
    port: parsed.PORT,
    databasePath: parsed.DATABASE_PATH,
    databaseUrl,
    jwtSecret: parsed.JWT_SECRET,
    jwtPrivateKey: parsed.JWT_PRIVATE_KEY_FILE === undefined
      ? undefined
      : readPem('JWT_PRIVATE_KEY_FILE', parsed.JWT_PRIVATE_KEY_FILE, parsePrivateKey),
    jwtPreviousPublicKeys: (parsed.JWT_PREVIOUS_PUBLIC_KEYS ?? '').split(',').map((path) => path.trim()).filter(Boolean)
      .map((path) => readPem('JWT_PREVIOUS_PUBLIC_KEYS', path, parsePublicKey)),
    origin,
    issuer,
    audience: parsed.JWT_AUDIENCE ?? issuer,
    accessTokenTtl: parsed.ACCESS_TOKEN_TTL,
    refreshTokenTtl: parsed.REFRESH_TOKEN_TTL,
    demoUsers,
    production,
    loginMaxFailures: parsed.LOGIN_MAX_FAILURES,
    loginWindow: parsed.LOGIN_WINDOW,
    tokenRateLimit: parsed.TOKEN_RATE_LIMIT,
    logLevel: parsed.LOG_LEVEL,
    corsOrigins: (parsed.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean),
    trustProxy: parseTrustProxy(parsed.TRUST_PROXY),
    metricsPort: parsed.METRICS_PORT
  }
}
