import type { UserRecord } from '../store/users.js'

// Names come from the API too: strip terminal control characters before printing them.
function printable (value: string | null): string {
  return value === null ? '-' : value.replace(/\p{Cc}/gu, '\ufffd')
}

/** `user list`: one row per user, columns padded to their widest cell. */
export function userTable (users: readonly UserRecord[]): string {
  const rows = [['USERNAME', 'ROLES', 'DISABLED', 'EMAIL', 'FULL NAME'], ...users.map((user) => [
    user.username, user.roles.join(',') || '-', user.disabled ? 'yes' : 'no', printable(user.email), printable(user.full_name)
  ])]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n'
}
