import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { TEST_ENV } from './helper.js'

export interface LogLine { level: number, msg?: string, [key: string]: unknown }

/** A test app whose pino output (at trace) is kept, raw and parsed. */
export function buildLoggedApp (t: { teardown (fn: () => unknown): void }, env: Record<string, string> = {}): {
  app: FastifyInstance,
  raw: string[],
  lines: () => LogLine[]
} {
  const raw: string[] = []
  const app = buildApp({
    config: loadConfig({ ...TEST_ENV, ...env }),
    logger: { level: 'trace', stream: { write: (line: string) => { raw.push(line) } } },
    hashCost: 'test'
  })
  t.teardown(async () => await app.close())
  return { app, raw, lines: () => raw.map((line) => JSON.parse(line) as LogLine) }
}
