import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createPasswordHasher, defaultHashingSlots, threadPoolSize, type HashCost, type PasswordHasher } from '../src/passwords.js'

declare module 'fastify' {
  interface FastifyInstance { passwords: PasswordHasher }
}

export interface PasswordsPluginOptions { hashCost: HashCost }

async function passwords (app: FastifyInstance, { hashCost }: PasswordsPluginOptions): Promise<void> {
  const slots = defaultHashingSlots()
  app.log.info({ hashingSlots: slots, threadPoolSize: threadPoolSize() }, 'password hashing on the thread pool')
  app.decorate('passwords', createPasswordHasher({ cost: hashCost, concurrency: slots }))
}

export default fp(passwords, { name: 'passwords' })
