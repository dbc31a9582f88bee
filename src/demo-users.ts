import type { PasswordHasher } from './passwords.js'
import type { NewUser, UsersRepository } from './store/users.js'

type DemoUser = Omit<NewUser, 'password_hash'> & { password: string }

// API.md "Demo users"; johndoe and alice are the FastAPI tutorial's users.
export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'johndoe', password: 'secret', roles: ['admin'], email: 'johndoe@example.com', full_name: 'John Doe', disabled: false },
  {
    username: 'alice',
    password: 'secretalice',
    roles: ['client'],
    email: 'alicechains@example.com',
    full_name: 'Alice Chains',
    disabled: true
  },
  { username: 'bob', password: 'secret3', roles: ['client'], email: 'bob@example.com', full_name: 'Bob Builder', disabled: false }
]

/**
 * Creates the demo users when the user table is empty, exactly once also when several instances
 * start together on an empty database (API.md "Several instances"). Hashes only when it may create.
 */
export async function seedDemoUsers (users: UsersRepository, passwords: PasswordHasher, now: Date): Promise<void> {
  if (await users.count() > 0) return
  const list = []
  for (const { password, ...user } of DEMO_USERS) list.push({ ...user, password_hash: await passwords.hash(password) })
  await users.createIfNone(list, now)
}
