import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import t from 'tap'
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js'

const EXAMPLE = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
// Each variable is a commented-out `# NAME=default` line, so a copy of the file changes nothing.
const DEFAULTS = parseEnv(EXAMPLE.split('\n').map((line) => line.replace(/^# (?=[A-Z][A-Z0-9_]*=)/, '')).join('\n'))

// API.md "Running": the table of variables; issue 14 "Dev loop": a documented .env.example.
t.test('.env.example lists every variable that loadConfig reads, and those of API.md\'s table not read there yet', async (t) => {
  const listed = Object.keys(DEFAULTS)
  t.same(CONFIG_VARIABLES.filter((name) => !listed.includes(name)), [], 'none missing')
  for (const name of ['DATABASE_URL', 'METRICS_PORT', 'UV_THREADPOOL_SIZE']) t.ok(listed.includes(name), name)
})

t.test('the defaults .env.example shows are loadConfig\'s own', async (t) => {
  t.same(loadConfig(DEFAULTS), loadConfig({}))
  t.same(loadConfig({ ...DEFAULTS, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).demoUsers, false,
    'DEMO_USERS left empty follows NODE_ENV')
})

t.test('copied as it is, .env.example sets no variable', async (t) => {
  t.same(parseEnv(EXAMPLE), {})
})
