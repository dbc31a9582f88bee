// The rows of the table: what each measurement sends, to which server.
import { FORM, JSON_TYPE } from './api.js'
import type { LoadJob } from './load.js'
import type { RowKey, RowSpec } from './report.js'
import type { Pair, Scenario, Storm } from './rounds.js'
import type { Server } from './server.js'

const REQUEST_TIMEOUT_S = 10
/**
 * The many users' row starts each round with this much load, not measured. The verified-token map
 * forgets tokens nobody presented for 10-20 s (plugins/auth.ts), and rounds come minutes apart:
 * unprimed, each round would measure the 20,000 users arriving at once (16,384 signature checks to
 * fill the map, about 1 s of CPU) rather than 20,000 users at work.
 */
const MANY_USERS_PRIME_S = 2
/**
 * The login storm comes from this many addresses (X-Forwarded-For; TRUST_PROXY names the harness):
 * one address holds only a few hashing places (src/passwords.ts), so a storm from one would be
 * refused at once, and would measure the cost of 503s rather than of logins waiting for hashing.
 */
export const STORM_CLIENTS = 64

export interface Servers {
  /** Ours at LOG_LEVEL=warn: no request logs. Every row but the next four. */
  ours: Server
  /** Ours at LOG_LEVEL=warn too, on the same database, serving GET /admin-only only, as the next two do: their base. */
  oursSolo: Server
  /** Ours at the default LOG_LEVEL=info, on the same database. */
  oursInfo: Server
  /** Ours at LOG_LEVEL=warn with METRICS_PORT set, on the same database. */
  oursMetrics: Server
  bare: Server
  /** Bare Fastify with our security headers (helmet's). */
  bareHelmet: Server
  jwt: Server
  /** Ours at LOG_LEVEL=warn with DATABASE_URL set: absent where PostgreSQL is not installed. */
  oursPg?: Server
}

export interface Credentials {
  /** `Bearer <token>` of johndoe (admin) and of bob (client). */
  admin: string
  client: string
  /** The JSON file of the many users' tokens (bench/load.ts). */
  manyTokensFile: string
  manyUsers: number
  /** `Bearer <token>` of johndoe on the PostgreSQL server, when there is one. */
  pgAdmin?: string
}

interface ScenarioOptions {
  primeSeconds?: number
  body?: string
  mayShed?: boolean
  concurrent?: boolean
  bearerTokensFile?: string
  clientAddresses?: number
}

export function scenarios (servers: Servers, { admin, client, manyTokensFile, manyUsers, pgAdmin }: Credentials, connections: number,
  smoke: boolean): { list: Scenario[], storm: Storm, pairs: Pair[] } {
  const scenario = (key: RowKey, label: string, server: Server, method: 'GET' | 'POST', path: string, headers: Record<string, string>,
    { primeSeconds, body, mayShed = false, concurrent = false, bearerTokensFile, clientAddresses }: ScenarioOptions = {}
  ): Scenario => {
    const spec: RowSpec = { key, label, connections, mayShed, concurrent }
    const sent = { url: `${server.base}${path}`, method, headers, body, bearerTokensFile, clientAddresses }
    const job = (duration: number, delayMs = 0): LoadJob => ({ ...sent, connections, duration, delayMs, timeout: REQUEST_TIMEOUT_S })
    return { spec, server, job, primeSeconds }
  }
  const adminAuth = { authorization: admin }
  const { ours } = servers
  const loginBody = new URLSearchParams({ username: 'johndoe', password: 'secret' }).toString()
  const itemBody = JSON.stringify({ name: 'bench item', description: 'written by the load benchmark' })
  // Every GET /admin-only row sends the same bytes but the token (johndoe's; the many users' own).
  // GET /items reads as bob, a client who sees his own 50 items, while POST /items writes as
  // johndoe: the list's cost should not grow with the rows the write benchmark adds.
  const list = [
    scenario('health', 'GET /health', ours, 'GET', '/health', {}),
    scenario('admin', 'GET /admin-only', ours, 'GET', '/admin-only', adminAuth),
    scenario('adminSolo', 'GET /admin-only, a process serving it only', servers.oursSolo, 'GET', '/admin-only', adminAuth),
    scenario('adminInfo', 'GET /admin-only, LOG_LEVEL=info', servers.oursInfo, 'GET', '/admin-only', adminAuth),
    scenario('adminMetrics', 'GET /admin-only, METRICS_PORT set', servers.oursMetrics, 'GET', '/admin-only', adminAuth),
    scenario('adminManyUsers', `GET /admin-only, ${manyUsers} users`, ours, 'GET', '/admin-only', adminAuth,
      { bearerTokensFile: manyTokensFile, primeSeconds: smoke ? 1 : MANY_USERS_PRIME_S }),
    scenario('peerBare', 'bare Fastify 5: GET /admin-only', servers.bare, 'GET', '/admin-only', adminAuth),
    scenario('peerBareHelmet', 'bare Fastify 5 + helmet\'s headers: GET /admin-only', servers.bareHelmet, 'GET', '/admin-only', adminAuth),
    scenario('peerJwt', 'Fastify 5 + @fastify/jwt: GET /admin-only', servers.jwt, 'GET', '/admin-only', adminAuth),
    scenario('itemsList', 'GET /items?limit=20', ours, 'GET', '/items?limit=20', { authorization: client }),
    scenario('itemsCreate', 'POST /items', ours, 'POST', '/items', { ...adminAuth, ...JSON_TYPE }, { body: itemBody }),
    scenario('token', 'POST /token', ours, 'POST', '/token', FORM, { body: loginBody, mayShed: true }),
    // Issue 11: the same read and write in PostgreSQL mode, each compared with its SQLite row above.
    ...(servers.oursPg === undefined || pgAdmin === undefined
      ? []
      : [
          scenario('pgAdmin', 'GET /admin-only (PostgreSQL)', servers.oursPg, 'GET', '/admin-only', { authorization: pgAdmin }),
          scenario('pgItemsCreate', 'POST /items (PostgreSQL)', servers.oursPg, 'POST', '/items', { authorization: pgAdmin, ...JSON_TYPE },
            { body: itemBody })
        ])
  ]
  const storm: Storm = {
    server: ours,
    victim: scenario('stormAdmin', 'GET /admin-only during login storm', ours, 'GET', '/admin-only', adminAuth, { concurrent: true }),
    storm: scenario('stormToken', 'POST /token (the storm)', ours, 'POST', '/token', FORM,
      { body: loginBody, mayShed: true, concurrent: true, clientAddresses: STORM_CLIENTS }),
    leadMs: smoke ? 250 : 1000
  }
  // The verdicts between two processes (bench/report.ts): each row with the one it is compared with.
  const byKey = new Map(list.map((scenario) => [scenario.spec.key, scenario]))
  const pair = (row: RowKey, base: RowKey): Pair[] => {
    const [rowScenario, baseScenario] = [byKey.get(row), byKey.get(base)]
    return rowScenario === undefined || baseScenario === undefined ? [] : [{ row: rowScenario, base: baseScenario }]
  }
  const pairs = [
    ...pair('adminInfo', 'adminSolo'), ...pair('adminMetrics', 'adminSolo'), ...pair('admin', 'peerBare'), ...pair('admin', 'peerJwt'),
    ...pair('peerBareHelmet', 'peerBare'), ...pair('admin', 'peerBareHelmet'), ...pair('pgAdmin', 'admin')
  ]
  return { list, storm, pairs }
}
