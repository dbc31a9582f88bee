import { parseArgs } from 'node:util'

/** Wrong usage: exit code 2, with the usage text. */
export class UsageError extends Error {}

export type Command =
  | { name: 'help' }
  | { name: 'add', username: string, roles: string, email?: string, fullName?: string, disabled: boolean }
  | { name: 'list' }
  | { name: 'disable' | 'enable' | 'delete' | 'set-password', username: string }
  | { name: 'set-roles', username: string, roles: string }
  | { name: 'import', file: string }

const OPTIONS = {
  roles: { type: 'string' },
  email: { type: 'string' },
  'full-name': { type: 'string' },
  disabled: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** The arguments after `secure-api` as a command, with node:util parseArgs; wrong usage throws UsageError. */
export function parseCommand (argv: readonly string[]): Command {
  if (argv.some((arg) => /^--?password(=|$)/.test(arg))) {
    throw new UsageError('Passwords are never taken from the command line: ' +
      '`user add` and `user set-password` ask for it on the terminal or read standard input')
  }
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true || (positionals.length === 1 && positionals[0] === 'help')) return { name: 'help' }
  if (positionals[0] !== 'user') throw new UsageError(positionals.length === 0 ? 'Missing command' : `Unknown command "${positionals[0]}"`)
  const [, action, ...rest] = positionals

  const expect = (names: readonly string[], options: readonly string[] = []): string[] => {
    const extra = Object.keys(values).find((option) => !options.includes(option))
    if (extra !== undefined) throw new UsageError(`user ${action} does not take --${extra}`)
    if (rest.length !== names.length) throw new UsageError(`Usage: secure-api user ${[action, ...names].join(' ')}`)
    return rest
  }

  switch (action) {
    case 'add': {
      const [username] = expect(['USERNAME'], ['roles', 'email', 'full-name', 'disabled']) as [string]
      if (values.roles === undefined) throw new UsageError('user add needs --roles')
      const { roles, email, 'full-name': fullName, disabled } = values
      return { name: 'add', username, roles, email, fullName, disabled: disabled === true }
    }
    case 'list':
      expect([])
      return { name: 'list' }
    case 'disable':
    case 'enable':
    case 'delete':
    case 'set-password': {
      const [username] = expect(['USERNAME']) as [string]
      return { name: action, username }
    }
    case 'set-roles': {
      const [username, roles] = expect(['USERNAME', 'ROLES']) as [string, string]
      return { name: 'set-roles', username, roles }
    }
    case 'import': {
      const [file] = expect(['FILE']) as [string]
      return { name: 'import', file }
    }
    default:
      throw new UsageError(action === undefined ? 'Missing user command' : `Unknown user command "${action}"`)
  }
}
