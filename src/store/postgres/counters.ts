import type { CountersRepository } from '../counters.js'
import type { PgSql } from './db.js'

/**
 * The counters as rows (migration 3 of src/store/postgres/db.ts), each changed by one
 * INSERT ... ON CONFLICT DO UPDATE: PostgreSQL locks the row, so two instances counting the same
 * key at once are applied one after the other. In SET, the row's columns are its old values.
 */
export function createCountersRepository (sql: PgSql): CountersRepository {
  return {
    async countFailure (key, at, max, windowMs) {
      const since = at - windowMs
      const [row] = await sql<[{ refused: boolean, times: number[] }]>`
        INSERT INTO login_failures AS f (key, times, refused, expires_at)
        VALUES (${key}, ARRAY[${at}::bigint], false, ${at + windowMs})
        ON CONFLICT (key) DO UPDATE SET
          refused = (SELECT count(*) >= ${max} FROM unnest(f.times) AS t WHERE t > ${since}),
          times = (SELECT CASE WHEN count(*) >= ${max} THEN coalesce(array_agg(t ORDER BY t), '{}')
            ELSE coalesce(array_agg(t ORDER BY t), '{}') || ${at}::bigint END
            FROM unnest(f.times) AS t WHERE t > ${since}),
          expires_at = greatest(f.expires_at, ${at + windowMs})
        RETURNING refused, times`
      // Never empty: it holds this failure, or the max (at least 1) that refused it.
      return { counted: !row.refused, oldest: row.times[0] as number }
    },
    async uncountFailure (key, at) {
      // One of the equal times, not all: they are interchangeable, and each is one attempt.
      await sql`UPDATE login_failures
        SET times = times[:array_position(times, ${at}::bigint) - 1] || times[array_position(times, ${at}::bigint) + 1:]
        WHERE key = ${key} AND array_position(times, ${at}::bigint) IS NOT NULL`
    },
    async hit (key, at, windowMs) {
      const [row] = await sql<[{ count: number, started: number }]>`
        INSERT INTO rate_limits AS r (key, count, started, expires_at) VALUES (${key}, 1, ${at}, ${at + windowMs})
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN r.expires_at <= ${at} THEN 1 ELSE r.count + 1 END,
          started = CASE WHEN r.expires_at <= ${at} THEN ${at} ELSE r.started END,
          expires_at = CASE WHEN r.expires_at <= ${at} THEN ${at + windowMs} ELSE r.expires_at END
        RETURNING count, started`
      return row
    },
    async prune (at) {
      await sql`DELETE FROM login_failures WHERE expires_at <= ${at}`
      await sql`DELETE FROM rate_limits WHERE expires_at <= ${at}`
    }
  }
}
