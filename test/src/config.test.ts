import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config.js'

const SECRET = 'x'.repeat(32)

// API.md "Running": the configuration table's defaults.
t.test('defaults follow the contract table', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    host: '127.0.0.1',
    port: 3000,
    databasePath: './data/app.db',
    jwtSecret: undefined,
    jwtPrivateKey: undefined,
    issuer: 'http://127.0.0.1:3000',
    audience: 'http://127.0.0.1:3000',
    accessTokenTtl: 1800,
    refreshTokenTtl: 1209600,
    demoUsers: true,
    production: false,
    loginMaxFailures: 10,
    loginWindow: 900,
    tokenRateLimit: 300,
    logLevel: 'info'
  })
  t.same(config.jwtPreviousPublicKeys, [])
  t.same(config.corsOrigins, [])
  t.equal(config.trustProxy, false)
})

t.test('TRUST_PROXY takes proxy addresses and CIDR ranges, and refuses true or a hop count', async (t) => {
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1,fd00::/8' }).trustProxy, ['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8'])
  t.equal(loadConfig({ TRUST_PROXY: ' , ' }).trustProxy, false)
  for (const value of ['true', '2', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', '10.0.0.0/x', 'proxy.internal']) {
    t.throws(() => loadConfig({ TRUST_PROXY: value }), /^TRUST_PROXY: expected proxy addresses or CIDR ranges/, value)
  }
})

// API.md "Running": METRICS_PORT, unset by default; /metrics is served on it and only there.
t.test('METRICS_PORT is off by default, a port of 1..65535 when set, and never the API port', async (t) => {
  t.equal(loadConfig({}).metricsPort, undefined)
  t.equal(loadConfig({ METRICS_PORT: '' }).metricsPort, undefined)
  t.equal(loadConfig({ METRICS_PORT: '9464' }).metricsPort, 9464)
  for (const value of ['0', '65536', 'ninety', '9464.5', '-1']) {
    t.throws(() => loadConfig({ METRICS_PORT: value }), /^METRICS_PORT: /, value)
  }
  t.throws(() => loadConfig({ METRICS_PORT: '3000' }), /^METRICS_PORT: must differ from PORT \(both are 3000\)$/)
  t.throws(() => loadConfig({ PORT: '8080', METRICS_PORT: '8080' }), /^METRICS_PORT: must differ from PORT/)
  t.equal(loadConfig({ PORT: '8080', METRICS_PORT: '3000' }).metricsPort, 3000)
})

t.test('values are read and converted from text', async (t) => {
  const config = loadConfig({
    HOST: '0.0.0.0',
    PORT: '8080',
    JWT_SECRET: SECRET,
    ACCESS_TOKEN_TTL: '60',
    DEMO_USERS: 'false',
    TOKEN_RATE_LIMIT: '0',
    LOG_LEVEL: 'debug',
    CORS_ORIGINS: 'https://a.example, https://b.example',
    JWT_AUDIENCE: 'api'
  })
  t.match(config, { host: '0.0.0.0', port: 8080, jwtSecret: SECRET, accessTokenTtl: 60, demoUsers: false, tokenRateLimit: 0, logLevel: 'debug', issuer: 'http://0.0.0.0:8080', audience: 'api' })
  t.same(config.corsOrigins, ['https://a.example', 'https://b.example'])
})

t.test('an IPv6 host is bracketed in the default issuer', async (t) => {
  t.equal(loadConfig({ HOST: '::1' }).issuer, 'http://[::1]:3000')
})

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', JWT_SECRET: '' }).port, 3000)
})

t.test('a bad value throws a ConfigError naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ ACCESS_TOKEN_TTL: '0' }, /^ACCESS_TOKEN_TTL: /],
    [{ REFRESH_TOKEN_TTL: '1.5' }, /^REFRESH_TOKEN_TTL: /],
    [{ DEMO_USERS: 'maybe' }, /^DEMO_USERS: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ LOGIN_MAX_FAILURES: '0' }, /^LOGIN_MAX_FAILURES: /],
    [{ TOKEN_RATE_LIMIT: '-1' }, /^TOKEN_RATE_LIMIT: /]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), message, JSON.stringify(env))
    t.throws(() => loadConfig(env), ConfigError)
  }
})

t.test('a JWT_SECRET under 32 bytes is refused', async (t) => {
  t.throws(() => loadConfig({ JWT_SECRET: 'x'.repeat(31) }), { message: 'JWT_SECRET: must be at least 32 bytes' })
  t.equal(loadConfig({ JWT_SECRET: 'é'.repeat(16) }).jwtSecret, 'é'.repeat(16), '32 bytes of UTF-8')
})

// API.md "Running": NODE_ENV=production refuses a missing secret and demo users.
t.test('production refuses to start without a secret or with demo users', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /^JWT_SECRET: NODE_ENV=production needs JWT_SECRET or JWT_PRIVATE_KEY_FILE$/)
  t.throws(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, DEMO_USERS: 'true' }), /^DEMO_USERS: must not be true/)
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET })
  t.equal(config.demoUsers, false, 'demo users default to off in production')
  t.equal(config.production, true)
})

// API.md "Running" (DATABASE_URL) and "Several instances (PostgreSQL)".
t.test('DATABASE_URL selects PostgreSQL; without it the SQLite file stays the store', async (t) => {
  t.equal(loadConfig({}).databaseUrl, undefined)
  const url = 'postgres://api:pw@db.internal:5432/api'
  t.match(loadConfig({ DATABASE_URL: url, JWT_SECRET: SECRET }), { databaseUrl: url, databasePath: './data/app.db' })
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://db/api?sslmode=require', JWT_SECRET: SECRET }).databaseUrl, 'postgresql://db/api?sslmode=require')
})

t.test('a bad DATABASE_URL is refused in one line naming the variable, never repeating the password', async (t) => {
  const cases: Array<[string, string]> = [
    ['not a url', 'DATABASE_URL: must be a URL such as postgres://user:password@host:5432/database'],
    ['mysql://root:hunter2@db/api', 'DATABASE_URL: must start with postgres:// (got mysql://)'],
    ['postgres://root:hunter2@db', 'DATABASE_URL: must name a host and a database, as in postgres://user:password@host:5432/database'],
    ['postgres:///api', 'DATABASE_URL: must name a host and a database, as in postgres://user:password@host:5432/database']
  ]
  for (const [value, message] of cases) {
    t.throws(() => loadConfig({ DATABASE_URL: value, JWT_SECRET: SECRET }), { name: 'ConfigError', message }, value)
  }
})

t.test('with DATABASE_URL the server refuses to start without JWT_SECRET or JWT_PRIVATE_KEY_FILE', async (t) => {
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/api' }),
    { name: 'ConfigError', message: 'JWT_SECRET: DATABASE_URL needs JWT_SECRET or JWT_PRIVATE_KEY_FILE, the same for every instance' })
  t.equal(loadConfig({ DATABASE_URL: 'postgres://db/api', JWT_SECRET: SECRET }).jwtSecret, SECRET)
})

t.test('key files are read at load, and an unreadable one names its variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'config-'))
  const pair = generateKeyPairSync('ed25519')
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const key = join(dir, 'key.pem')
  const previous = join(dir, 'previous.pem')
  writeFileSync(key, privatePem)
  writeFileSync(previous, publicPem)
  const config = loadConfig({ JWT_PRIVATE_KEY_FILE: key, JWT_PREVIOUS_PUBLIC_KEYS: `${previous}, ${previous}` })
  t.equal(config.jwtPrivateKey, privatePem)
  t.same(config.jwtPreviousPublicKeys, [publicPem, publicPem])
  t.throws(() => loadConfig({ JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }),
    /^JWT_PRIVATE_KEY_FILE: cannot read .*missing\.pem \(ENOENT\)$/)
  t.throws(() => loadConfig({ JWT_PREVIOUS_PUBLIC_KEYS: join(dir, 'gone.pem') }), /^JWT_PREVIOUS_PUBLIC_KEYS: cannot read/)
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY_FILE: key }).production, true, 'a key file satisfies production')
  t.equal(loadConfig({ DATABASE_URL: 'postgres://db/api', JWT_PRIVATE_KEY_FILE: key }).databaseUrl, 'postgres://db/api', 'and PostgreSQL mode')
})
