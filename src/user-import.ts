import { Type } from '@sinclair/typebox'
import { hashCostProblem, isSupportedHash } from './passwords.js'
import { ALL_ROLES, isRole, type Role } from './policy.js'
import type { NewUser } from './store/users.js'
import { Nullable } from './schemas/common.js'
import { EmailSchema, FullNameSchema, UsernameSchema } from './schemas/users.js'
import { createValidator } from './validation.js'

/** An entry of FastAPI's `fake_users_db`: the tutorial's UserInDB with RoleChecker's `role`; the API's field rules. */
const FastApiUserSchema = Type.Object({
  username: UsernameSchema,
  full_name: Type.Optional(Nullable(FullNameSchema)),
  email: Type.Optional(Nullable(EmailSchema)),
  hashed_password: Type.String(),
  disabled: Type.Optional(Nullable(Type.Boolean())),
  role: Type.String()
}, { additionalProperties: false })

export class ImportError extends Error {
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super(problems.join('\n'))
    this.name = 'ImportError'
    this.problems = problems
  }
}

function quote (key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)
}

/** Checks that no schema can express: the key, the role and the hash format. */
function crossChecks (key: string, entry: Record<string, unknown>): string[] {
  const problems: string[] = []
  const { username, role, hashed_password: hash } = entry
  if (typeof username === 'string' && username !== key) problems.push(`username ${quote(username)} differs from its key`)
  if (typeof role === 'string' && !isRole(role)) problems.push(`role ${quote(role)} does not exist (roles: ${ALL_ROLES.join(', ')})`)
  if (typeof hash === 'string') {
    // A hash too costly to verify would let each login of that user hold a hashing slot for seconds or exhaust memory.
    const costly = isSupportedHash(hash) ? hashCostProblem(hash) : 'must be a bcrypt ($2b$…) or argon2id hash'
    if (costly !== undefined) problems.push(`hashed_password ${costly}`)
  }
  return problems
}

/**
 * Reads a JSON object shaped like FastAPI's `fake_users_db` (username → {username, full_name,
 * email, hashed_password, disabled, role}) into users to create with their existing hashes.
 * Throws ImportError listing every problem, each naming its user and field.
 */
export function parseFastApiUsers (text: string): NewUser[] {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new ImportError([`the file is not valid JSON: ${(err as Error).message}`])
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ImportError(['the file must hold a JSON object mapping each username to its user, like FastAPI\'s fake_users_db'])
  }
  const entries = Object.entries(data)
  if (entries.length === 0) throw new ImportError(['the file holds no users'])

  const validate = createValidator(FastApiUserSchema)
  const users: NewUser[] = []
  const problems: string[] = []
  for (const [key, entry] of entries) {
    const result = validate(entry)
    const cross = typeof entry === 'object' && entry !== null ? crossChecks(key, entry as Record<string, unknown>) : []
    if (result.problems === undefined && cross.length === 0) {
      const { hashed_password: passwordHash, role, disabled, ...profile } = result.value
      users.push({ ...profile, password_hash: passwordHash, roles: [role as Role], disabled: disabled === true })
    } else {
      problems.push(...[...result.problems ?? [], ...cross].map((problem) => `user ${quote(key)}: ${problem}`))
    }
  }
  if (problems.length > 0) throw new ImportError(problems)
  return users
}
