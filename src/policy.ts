// The one place that says which scopes exist and which roles may be granted them (API.md "Policy").
export const SCOPES = {
  'items:read': 'Read items',
  'items:write': 'Create and delete items',
  'users:read': 'List users',
  'users:write': 'Create, change and delete users'
} as const

export type Scope = keyof typeof SCOPES

export const ROLE_SCOPES = {
  admin: ['items:read', 'items:write', 'users:read', 'users:write'],
  client: ['items:read', 'items:write']
} as const satisfies Record<string, readonly Scope[]>

export type Role = keyof typeof ROLE_SCOPES

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[]
export const ALL_ROLES = Object.keys(ROLE_SCOPES) as Role[]

// Roles whose holders see every item, not only their own (API.md "Routes", /items).
export const ROLES_SEEING_ALL_ITEMS: readonly Role[] = ['admin']

export function isScope (name: string): name is Scope {
  return Object.hasOwn(SCOPES, name)
}

export function isRole (name: string): name is Role {
  return Object.hasOwn(ROLE_SCOPES, name)
}

/** Every scope any of these roles may be granted, in the policy's order. */
export function scopesFor (roles: readonly string[]): Scope[] {
  const allowed = new Set<Scope>()
  for (const role of roles) {
    if (isRole(role)) for (const scope of ROLE_SCOPES[role]) allowed.add(scope)
  }
  return ALL_SCOPES.filter((scope) => allowed.has(scope))
}

/**
 * Roles are a set: stored, compared and answered in the policy's order, so that naming the same
 * roles in another order is no change (and revokes no token).
 */
export function inPolicyOrder (roles: readonly Role[]): Role[] {
  return ALL_ROLES.filter((role) => roles.includes(role))
}

export function seesAllItems (roles: readonly string[]): boolean {
  return roles.some((role) => ROLES_SEEING_ALL_ITEMS.includes(role as Role))
}
