import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import { createChangeSignal, type ChangeSignal, type StoreChange } from '../changes.js'
import { CHANGES_CHANNEL, RECONNECT_BACKOFF, type PgSql } from './db.js'

export interface ChangeFeedOptions {
  /** Milliseconds between this instance's heartbeats through the channel. */
  heartbeatMs?: number
  /** Milliseconds without its own heartbeat after which the feed is taken for dead and reconnected. */
  staleMs?: number
  /** Milliseconds between attempts to listen again while the database does not answer. */
  retryMs?: number
}

export interface ChangeFeed extends ChangeSignal {
  /** Listens; resolves once listening (the store opens live), rejects when the database does not answer. */
  start (): Promise<void>
  /** The listener connection's server process id, for tests that kill it (pg_terminate_backend). */
  backendPid (): Promise<number>
  close (): Promise<void>
}

const ignore = (): void => {}

/** Reads one notification; a payload this code did not write (a NOTIFY by hand) means "anything". */
export function parseChange (payload: string): StoreChange | { heartbeat: string } {
  try {
    const parsed = JSON.parse(payload) as { u?: unknown, l?: unknown, r?: unknown, h?: unknown }
    if (typeof parsed.h === 'string') return { heartbeat: parsed.h }
    if (typeof parsed.u === 'string') return { username: parsed.u }
    if (typeof parsed.l === 'string' && typeof parsed.r === 'number') return { login: { id: parsed.l, revokedAt: parsed.r } }
  } catch {}
  return {}
}

/**
 * The change feed (API.md "Several instances (PostgreSQL)"): LISTEN on a connection of its own, fed
 * by the schema's triggers (src/store/postgres/db.ts), so that the hot path stays free of I/O.
 *
 * A lost notification must never be lost in effect, so the feed is live only while it can prove it
 * hears everything: from a successful LISTEN, after its listeners resynced (caches dropped, revoked
 * logins read again), for as long as its own heartbeat keeps coming back through the channel. The
 * listener connection closing (pg_terminate_backend, a restart, an outage) ends it at once; a
 * heartbeat missing for `staleMs` ends it when the connection dies silently. While not live, the
 * server reads per request (plugins/db.ts) and the feed tries to listen again every `retryMs`.
 *
 * Its own client, not the driver's `sql.listen()`: that one re-listens after a close, but tells no
 * one that the connection was gone, and gives up silently when the database is down at that moment.
 */
export function createChangeFeed (
  url: string,
  sql: PgSql,
  { heartbeatMs = 1000, staleMs = 3000, retryMs = 250 }: ChangeFeedOptions = {}
): ChangeFeed {
  const instance = randomUUID()
  const beat = JSON.stringify({ h: instance })
  let live = false
  let closed = false
  // Bumped whenever the connection is lost: an attempt that began before a loss must not go live.
  let epoch = 0
  let attempting = false
  let lastBeat = 0
  let retryTimer: NodeJS.Timeout | undefined

  // Nothing to poll: changes are pushed.
  const signal = createChangeSignal(undefined, () => live)

  function receive (payload: string): void {
    const change = parseChange(payload)
    if ('heartbeat' in change) {
      if (change.heartbeat === instance) lastBeat = performance.now()
      return
    }
    // Pushed changes have synchronous listeners (plugins/db.ts): nothing to wait for.
    signal.emit(change)
  }

  function open (): PgSql {
    const client = postgres(url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
      connect_timeout: 5,
      backoff: RECONNECT_BACKOFF,
      onnotice: ignore,
      connection: { application_name: 'fastify-secure-api feed' },
      // Not in the driver's option types, but what its sql.listen() uses (postgres 3.4).
      ...{ onnotify: (channel: string, payload: string) => { if (channel === CHANGES_CHANNEL) receive(payload) } },
      // A client replaced after a silent death closes later: that is no news about the new one.
      onclose: () => { if (client === listener) lost() }
    }) as unknown as PgSql
    return client
  }

  let listener = open()

  function lost (): void {
    epoch++
    live = false
    if (!closed && !attempting) schedule()
  }

  function schedule (): void {
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => { attempt() }, retryMs)
    retryTimer.unref()
  }

  async function attempt (): Promise<void> {
    attempting = true
    const started = epoch
    try {
      await listener.unsafe(`LISTEN ${CHANGES_CHANNEL}`)
      // Listening from here on: what changed before is read again, what changes after is notified.
      await signal.emit({ resync: true })
      if (started === epoch && !closed) {
        lastBeat = performance.now()
        live = true
      }
    } catch {
      // The database does not answer: try again; meanwhile requests read (or fail 503) per request.
    } finally {
      attempting = false
    }
    if (!live && !closed) schedule()
  }

  const heartbeat = setInterval(() => {
    if (live && performance.now() - lastBeat > staleMs) {
      // The connection may be gone without a word (a network partition): make it go, listen anew.
      const old = listener
      listener = open()
      lost()
      old.end({ timeout: 0 })
    }
    // A heartbeat that fails is a heartbeat that does not come back: staleness reports it.
    sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${beat})`.catch(ignore)
  }, heartbeatMs)
  heartbeat.unref()

  return {
    ...signal,
    async start () {
      await listener.unsafe(`LISTEN ${CHANGES_CHANNEL}`)
      lastBeat = performance.now()
      live = true
    },
    async backendPid () {
      const [row] = await listener<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`
      return row.pid
    },
    async close () {
      closed = true
      live = false
      clearInterval(heartbeat)
      clearTimeout(retryTimer)
      await listener.end({ timeout: 0 })
    }
  }
}
