import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createPasswordHasher, type HashCost, type PasswordHasher } from '../src/passwords.js'

declare module 'fastify' {
  interface FastifyInstance { passwords: PasswordHasher }
}

export interface PasswordsPluginOptions { hashCost: HashCost }

async function passwords (app: FastifyInstance, { hashCost }: PasswordsPluginOptions): Promise<void> {
  app.decorate('passwords', createPasswordHasher({ cost: hashCost }))
}

export default fp(passwords, { name: 'passwords' })
