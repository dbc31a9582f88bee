import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { tokenRequest, type Credentials } from './helper.js'

export interface Tokens { access_token: string, refresh_token: string, scope: string, expires_in: number, token_type: string }

/** Logs in through the real POST /token and returns the whole answer. */
export async function grant (app: FastifyInstance, credentials: Credentials): Promise<Tokens> {
  const form: Record<string, string> = { username: credentials.username, password: credentials.password }
  if (credentials.scope !== undefined) form.scope = credentials.scope
  const res = await tokenRequest(app, form)
  if (res.statusCode !== 200) throw new Error(`login as ${credentials.username} failed: ${res.statusCode} ${res.body}`)
  return res.json<Tokens>()
}

export async function refresh (app: FastifyInstance, refreshToken: string, scope?: string): Promise<LightMyRequestResponse> {
  return await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...(scope === undefined ? {} : { scope }) })
}

export async function revoke (app: FastifyInstance, form: Record<string, string>): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString()
  })
}

export const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
export const REUSED = { error: 'invalid_grant', error_description: 'The refresh token was already used; its login is revoked' }
