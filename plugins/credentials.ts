import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { clientKey } from '../src/client-address.js'
import type { Config } from '../src/config.js'
import { OAuthError } from '../src/errors.js'
import { createLoginThrottle, createSharedLoginThrottle, type LoginThrottle } from '../src/login-throttle.js'
import type { UserRecord } from '../src/store/users.js'

/** How a failed check is reported: at /token, or as a wrong current password at PUT /users/me/password. */
export type CredentialPurpose = 'login' | 'password_change'

export interface Credentials {
  /**
   * The user when the password is right, else undefined. Checked against the login throttle first
   * (before any hashing; OAuthError 429 with Retry-After when refused) and counted as a failure
   * unless the password proves right. Logs login_failed and login_throttled.
   */
  check (request: FastifyRequest, username: string, password: string, purpose: CredentialPurpose): Promise<UserRecord | undefined>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Password checks, throttled per username and client (API.md "Tokens"), shared by /token and PUT /users/me/password. */
    credentials: Credentials
  }
}

export interface CredentialsPluginOptions { config: Config }

const PAGE = 500

async function credentials (app: FastifyInstance, { config }: CredentialsPluginOptions): Promise<void> {
  // On PostgreSQL the failures are counted in the database, across every instance on it (API.md
  // "Several instances"); on SQLite, one process serves, and memory is enough.
  const limits = { max: config.loginMaxFailures, windowSeconds: config.loginWindow, now: app.now }
  const throttle: LoginThrottle = app.store.kind === 'postgres'
    ? createSharedLoginThrottle({ counters: app.store.counters, ...limits })
    : createLoginThrottle(limits)

  // The timing floor must cover every kind of hash stored (an imported bcrypt user) before the
  // first login probes one: measure each kind once, now.
  app.addHook('onReady', async () => {
    const hashes: string[] = []
    for (let offset = 0, total = 1; offset < total; offset += PAGE) {
      const page = await app.users.list({ limit: PAGE, offset })
      total = page.total
      hashes.push(...page.users.map((user) => user.password_hash))
    }
    await app.passwords.calibrate(hashes)
    app.log.info({ failureFloorMs: Math.round(app.passwords.failureFloorMs()) },
      'failed password checks answer after the slowest hash kind stored')
  })

  async function check (
    request: FastifyRequest, username: string, password: string, purpose: CredentialPurpose
  ): Promise<UserRecord | undefined> {
    const client = clientKey(request.ip)
    const attempt = await throttle.attempt(username, client)
    if (!attempt.allowed) {
      app.securityEvent(request, 'login_throttled', { username })
      // No RFC 6749 code fits; temporarily_unavailable tells a client to come back later, as Retry-After says.
      // Outside routes/oauth.ts the root error handler answers it in Fastify's shape, with the same status and header.
      const retryAfter = attempt.retryAfterSeconds
      const description = `Too many failed logins for this username from your address; retry in ${retryAfter} s`
      throw new OAuthError('temporarily_unavailable', description, 429, { 'retry-after': String(retryAfter) })
    }
    let user: UserRecord | undefined
    let valid: boolean
    try {
      user = await app.users.find(username)
      // Real argon2 work whether or not the user exists, and every failure answered after the same
      // floor whatever the hash, so timing does not tell (API.md "Tokens").
      valid = user === undefined
        ? await app.passwords.verifyDummy(password, client)
        : await app.passwords.verify(user.password_hash, password, client)
    } catch (err) {
      // The password was never checked (the hasher was busy, the database failed): no failure.
      await attempt.release()
      throw err
    }
    if (valid) {
      await attempt.release()
      return user
    }
    const reason = purpose === 'password_change' ? 'wrong_current_password' : user === undefined ? 'unknown_user' : 'wrong_password'
    app.securityEvent(request, 'login_failed', { username, reason })
    return undefined
  }

  app.decorate('credentials', { check })
}

export default fp(credentials, { name: 'credentials', dependencies: ['db', 'passwords', 'security-events'] })
