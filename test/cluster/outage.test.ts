import t from 'tap'
import { startPostgres, type PostgresCluster } from '../postgres.js'
import { send, startInstances, type Instance } from './instances.js'

t.setTimeout(120_000)

let cluster: PostgresCluster
let instances: Instance[]

t.before(async () => {
  cluster = await startPostgres(t)
  instances = await startInstances(t, 3, { DATABASE_URL: await cluster.createDatabase() })
})

interface Answer { path: string, status: number, retryAfter: string | null, at: number }

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

// API.md "Several instances": while the database cannot be reached, routes that need it answer 503
// with Retry-After (never 500, never 200 for a token that may have been revoked), GET /ready answers
// 503, and every instance recovers by itself once the database is back.
t.test('PostgreSQL stopped for 3 s under load: 503 with Retry-After, never 500; /ready 503; ' +
  'every instance recovers by itself', async (t) => {
  const login = await send(instances[0]?.base as string, 'POST', '/token', { form: { username: 'bob', password: 'secret3' } })
  const token = login.body.access_token as string
  const answers: Answer[] = []
  let running = true
  const isRunning = (): boolean => running
  const load = instances.map(async (instance, i) => {
    for (let n = 0; isRunning(); n++) {
      const [method, path, json] = n % 3 === 0
        ? ['POST', '/items', { name: `item ${i}.${n}` }]
        : n % 3 === 1 ? ['GET', '/users/me', undefined] : ['GET', '/ready', undefined]
      try {
        const res = await send(instance.base, method as string, path as string, { token, json })
        answers.push({ path: path as string, status: res.status, retryAfter: res.headers.get('retry-after'), at: performance.now() })
      } catch (err) {
        t.fail(`the connection failed: ${(err as Error).message}`)
      }
      await sleep(5)
    }
  })
  await sleep(300)
  const stoppedAt = performance.now()
  await cluster.stop()
  await sleep(3000)
  // Answers after this may come from the database starting up: pg_ctl returns only once it accepts connections.
  const restartAt = performance.now()
  await cluster.start()
  const startedAt = performance.now()
  // Every instance, by itself: the load keeps going; wait for each to answer 200 on both routes again.
  const recovered = async (instance: Instance): Promise<number> => {
    for (;;) {
      const me = await send(instance.base, 'GET', '/users/me', { token })
      const ready = await send(instance.base, 'GET', '/ready')
      if (me.status === 200 && ready.status === 200) return performance.now() - startedAt
      if (performance.now() - startedAt > 15_000) return Infinity
      await sleep(50)
    }
  }
  const recoveries = await Promise.all(instances.map(recovered))
  running = false
  await Promise.all(load)
  t.comment(`recovered ${recoveries.map((ms) => `${Math.round(ms)} ms`).join(', ')} after PostgreSQL started again`)
  t.ok(recoveries.every((ms) => ms < 15_000), 'every instance recovered')

  const statuses = new Set(answers.map((answer) => answer.status))
  t.notOk(statuses.has(500), 'never 500')
  t.same([...statuses].filter((status) => ![200, 201, 503].includes(status)), [], 'only success or 503')
  const during = answers.filter((answer) => answer.at > stoppedAt + 500 && answer.at < restartAt)
  t.ok(during.length > 0, 'requests during the outage')
  t.ok(during.every((answer) => answer.status === 503), 'each one 503: nothing answered from what may be stale')
  t.ok(answers.filter((answer) => answer.status === 503).every((answer) => answer.retryAfter === '1'), 'with Retry-After, /ready too')
  t.ok(during.some((answer) => answer.path === '/ready'), '/ready among them')
})
