// Issue 11, API.md "Several instances": how soon a revoking change made through one instance is
// refused by the others. Server processes on one PostgreSQL database; in each trial a user signs
// in on one of them, every other one accepts the token (so each holds the user's state), the
// change is made on the first, and from its answer the others are asked back to back
// (GET /users/me with the old token) until each answers 401. test/cluster/propagation.test.ts
// asserts the same for every kind of change; this measures three of them for the report.
import { performance } from 'node:perf_hooks'
import { call, FORM, JSON_TYPE, loginTokens } from './api.js'
import { HarnessError } from './harness-error.js'
import type { PropagationTrial } from './report.js'
import type { Server } from './server.js'

/** Issue 11 asks for at least 20; ten of each kind, about 3 s here. */
export const PROPAGATION_TRIALS = 30
/** A trial whose old token is still accepted after this long counts as this long (and fails the 1 s target). */
const GIVE_UP_MS = 5000
const USER = 'bench-propagation'
const PASSWORD = 'bench-propagation-password'

interface Kind {
  name: string
  /** The change, made through `on`; resolves once it answered. */
  change (on: Server, refresh: string): Promise<void>
  /** Undoes it for the next trial. */
  restore (on: Server): Promise<void>
}

async function expect (what: string, status: number, sent: Promise<{ status: number, body: string }>): Promise<void> {
  const res = await sent
  if (res.status !== status) throw new HarnessError(`propagation: ${what} answered ${res.status}: ${res.body.slice(0, 300)}`)
}

function kinds (admin: string): Kind[] {
  const patch = async (on: Server, what: string, json: object): Promise<void> => {
    const headers = { authorization: admin, ...JSON_TYPE }
    await expect(what, 200, call(on.base, 'PATCH', `/users/${USER}`, { headers, body: JSON.stringify(json) }))
  }
  let roles = ['client']
  return [
    {
      name: 'disable',
      change: async (on) => { await patch(on, 'disabling the user', { disabled: true }) },
      restore: async (on) => { await patch(on, 'enabling the user', { disabled: false }) }
    },
    {
      name: 'roles',
      change: async (on) => {
        roles = roles[0] === 'client' ? ['admin'] : ['client']
        await patch(on, 'a role change', { roles })
      },
      restore: async () => {}
    },
    {
      name: '/revoke',
      change: async (on, refresh) => {
        const form = new URLSearchParams({ token: refresh }).toString()
        await expect('POST /revoke', 200, call(on.base, 'POST', '/revoke', { headers: FORM, body: form }))
      },
      restore: async () => {}
    }
  ]
}

const me = async (server: Server, token: string): Promise<number> =>
  (await call(server.base, 'GET', '/users/me', { headers: { authorization: `Bearer ${token}` } })).status

/** Milliseconds from `started` until `server` refuses `token`, asking back to back. */
async function refusedAfter (server: Server, token: string, started: number): Promise<number> {
  for (;;) {
    const status = await me(server, token)
    const elapsed = performance.now() - started
    if (status === 401 || elapsed >= GIVE_UP_MS) return elapsed
    if (status !== 200) throw new HarnessError(`propagation: GET /users/me on ${server.name} answered ${status}`)
  }
}

/**
 * `trials` changes, made in turn through each instance and of each kind, by the admin whose
 * `Bearer` header is `admin`. Each trial's time runs from the change's answer to the 401 of the
 * slowest other instance.
 */
export async function measurePropagation (instances: readonly Server[], admin: string, trials: number): Promise<PropagationTrial[]> {
  const [first] = instances
  if (first === undefined || instances.length < 2) throw new HarnessError('propagation needs at least two instances')
  const body = JSON.stringify({ username: USER, password: PASSWORD, roles: ['client'] })
  await expect(`creating ${USER}`, 201, call(first.base, 'POST', '/users', { headers: { authorization: admin, ...JSON_TYPE }, body }))
  const list = kinds(admin)
  const results: PropagationTrial[] = []
  for (let trial = 0; trial < trials; trial++) {
    // Each kind in turn, through each instance in turn.
    const kind = list[trial % list.length] as Kind
    const on = instances[Math.floor(trial / list.length) % instances.length] as Server
    const others = instances.filter((instance) => instance !== on)
    const { access, refresh } = await loginTokens(on.base, USER, PASSWORD)
    for (const other of others) {
      const status = await me(other, access)
      if (status !== 200) throw new HarnessError(`propagation: ${other.name} refused a fresh token (${status}) before the change`)
    }
    await kind.change(on, refresh)
    const started = performance.now()
    const times = await Promise.all(others.map(async (other) => await refusedAfter(other, access, started)))
    results.push({ kind: kind.name, ms: Math.max(...times) })
    await kind.restore(on)
  }
  return results
}
