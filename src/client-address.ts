import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key a client's requests are counted under, by the login throttle and the rate limit alike.
 * An IPv6 client is keyed by its /64: one subscriber gets a whole /64 (RFC 6177, RFC 7421), so
 * keying the full address would give an attacker 2^64 fresh budgets. An IPv4-mapped address
 * (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2, what a dual-stack socket reports) is its IPv4 address.
 * Anything else (never seen from a socket) is kept as it is.
 */
export function clientKey (address: string): string {
  if (isIPv4(address)) return address
  // A zone index (`fe80::1%eth0`) names a local interface, not another client.
  const bare = address.split('%')[0] as string
  if (!isIPv6(bare)) return address
  const groups = expandIPv6(bare)
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = [groups[6] as number, groups[7] as number]
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address, its `::` filled and a dotted IPv4 tail converted. */
function expandIPv6 (address: string): number[] {
  let text = address
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map((group) => parseInt(group, 16))
  const left = parse(head)
  if (rest === undefined) return left
  const right = parse(rest)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
