import t from 'tap'
import { CLOCK_SKEW_SECONDS, TokenClaimsError, type VerifiedToken } from '../../src/tokens.js'
import { KEY_LENGTH, createVerifiedTokenCache } from '../../src/verified-tokens.js'

const START = 1_800_000_000_000
const TURN_MS = 60_000
/** For the tests that are not about turns: no turn ends while they run. */
const DAY_MS = 86_400_000

/** A token-shaped string; the cache compares text and never decodes it. */
function token (payload: string, signature = 'S'.repeat(43)): string {
  return `eyJhbGciOiJIUzI1NiJ9.${payload}.${signature}`
}

function verified (sub: string, nowSeconds = START / 1000, ttl = 600): VerifiedToken {
  return {
    sub,
    jti: `1.login-${sub}.r`,
    iat: nowSeconds,
    exp: nowSeconds + ttl,
    generation: 1,
    loginId: `login-${sub}`,
    scopes: ['items:read']
  }
}

function clock (): { now: () => number, advance: (seconds: number) => void } {
  let at = START
  return { now: () => at, advance: (seconds) => { at += seconds * 1000 } }
}

t.test('a remembered token is found by its exact Authorization header and by itself', async (t) => {
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  const bob = verified('bob')
  cache.remember(token('Ym9i'), bob)
  t.equal(cache.fromHeader(`Bearer ${token('Ym9i')}`), bob)
  t.equal(cache.get(token('Ym9i')), bob)
  t.equal(cache.size(), 1)
})

// RFC 6750 §2.1: any other spelling of the header is left to the caller's parser, which then asks get().
t.test('a header that is not exactly "Bearer <kept token>" is a miss', async (t) => {
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  cache.remember(token('Ym9i'), verified('bob'))
  const kept = token('Ym9i')
  for (const header of [`bearer ${kept}`, `Bearer  ${kept}`, `Bearer ${kept} `, `Basic ${kept}`, kept, '']) {
    t.equal(cache.fromHeader(header), undefined, JSON.stringify(header.slice(0, 8)))
  }
})

t.test('a token never remembered is a miss', async (t) => {
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  cache.remember(token('Ym9i'), verified('bob'))
  t.equal(cache.get(token('Ym9i', 'T'.repeat(43))), undefined)
  t.equal(cache.fromHeader(`Bearer ${token('Ym9i', 'T'.repeat(43))}`), undefined)
  t.equal(cache.get('x'), undefined, 'shorter than the key')
})

// API.md "Authentication and authorization", row 2: the kept tokens are found by their last
// characters, so a forged payload under a kept token's signature must not find that token's entry.
t.test('a token sharing a kept token\'s last characters but not its payload is a miss', async (t) => {
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  const kept = token('eyJzdWIiOiJib2IifQ')
  const forged = token('eyJzdWIiOiJqb2huZG9lIn0')
  t.equal(kept.slice(-KEY_LENGTH), forged.slice(-KEY_LENGTH))
  cache.remember(kept, verified('bob'))
  t.equal(cache.get(forged), undefined)
  t.equal(cache.fromHeader(`Bearer ${forged}`), undefined)
  t.equal(cache.get(kept)?.sub, 'bob', 'the kept token is still found')
})

// API.md "Tokens": exp with 30 s of skew, and no iat further in the future, against the app's clock.
t.test('a hit re-checks the time against the clock and throws once the token expired', async (t) => {
  const { now, advance } = clock()
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, now })
  cache.remember(token('Ym9i'), verified('bob', START / 1000, 600))
  advance(600 + CLOCK_SKEW_SECONDS)
  t.equal(cache.fromHeader(`Bearer ${token('Ym9i')}`)?.sub, 'bob', 'still within the skew')
  advance(1)
  for (const lookup of [() => cache.fromHeader(`Bearer ${token('Ym9i')}`), () => cache.get(token('Ym9i'))]) {
    t.throws(lookup, new TokenClaimsError('The access token expired'))
    t.throws(lookup, { code: 'CLAIMS' })
  }
})

t.test('a hit refuses a token issued further in the future than the skew', async (t) => {
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  cache.remember(token('Ym9i'), verified('bob', START / 1000 + CLOCK_SKEW_SECONDS + 1))
  t.throws(() => cache.get(token('Ym9i')), { message: 'The token is issued in the future' })
})

t.test('at max tokens, none expired, a new token is not kept and the kept ones stay', async (t) => {
  const cache = createVerifiedTokenCache({ max: 3, idleMs: DAY_MS, ...clock() })
  const signatures = ['A', 'B', 'C', 'D'].map((letter) => letter.repeat(43))
  for (const signature of signatures) cache.remember(token('cA', signature), verified(signature.slice(0, 1)))
  t.equal(cache.size(), 3)
  t.equal(cache.get(token('cA', signatures[3])), undefined, 'the fourth was not kept')
  t.same(signatures.slice(0, 3).map((signature) => cache.get(token('cA', signature))?.sub), ['A', 'B', 'C'])
})

// Room comes from tokens nobody presents (abandoned at refresh, or expired); those in use stay.
t.test('at max tokens, those not presented for a whole turn make room at the next, and only they', async (t) => {
  const { now, advance } = clock()
  const cache = createVerifiedTokenCache({ max: 3, idleMs: TURN_MS, now })
  const kept = (letter: string): string => token('cA', letter.repeat(43))
  for (const letter of ['A', 'B', 'C']) cache.remember(kept(letter), verified(letter))
  advance(40)
  t.equal(cache.get(kept('C'))?.sub, 'C')
  advance(30)
  t.equal(cache.fromHeader(`Bearer ${kept('C')}`)?.sub, 'C', 'presented in the second turn')
  cache.remember(kept('D'), verified('D'))
  t.equal(cache.size(), 3, 'A and B were presented in the turn before: still kept, so D is not')
  advance(60)
  t.equal(cache.get(kept('C'))?.sub, 'C', 'presented in the third turn')
  cache.remember(kept('D'), verified('D'))
  t.equal(cache.size(), 2, 'A and B went a whole turn unpresented: dropped; D kept')
  t.same(['A', 'B'].map((letter) => cache.get(kept(letter))), [undefined, undefined])
  t.same(['C', 'D'].map((letter) => cache.get(kept(letter))?.sub), ['C', 'D'])
})

t.test('a token presented at least once a turn stays kept; after two idle turns nothing is', async (t) => {
  const { now, advance } = clock()
  const cache = createVerifiedTokenCache({ max: 3, idleMs: TURN_MS, now })
  cache.remember(token('Ym9i'), verified('bob', START / 1000, 3600))
  for (let presented = 0; presented < 20; presented++) {
    advance(59)
    t.equal(cache.fromHeader(`Bearer ${token('Ym9i')}`)?.sub, 'bob')
  }
  t.equal(cache.size(), 1)
  advance(120)
  t.equal(cache.get(token('Ym9i')), undefined)
  t.equal(cache.size(), 0)
})

t.test('remembering a kept token again replaces it and drops nothing, even at max', async (t) => {
  const cache = createVerifiedTokenCache({ max: 2, idleMs: DAY_MS, ...clock() })
  cache.remember(token('cA', 'A'.repeat(43)), verified('a'))
  cache.remember(token('cA', 'B'.repeat(43)), verified('b'))
  cache.remember(token('cA', 'B'.repeat(43)), verified('b2'))
  t.equal(cache.size(), 2)
  t.equal(cache.get(token('cA', 'A'.repeat(43)))?.sub, 'a')
  t.equal(cache.get(token('cA', 'B'.repeat(43)))?.sub, 'b2')
})

t.test('two caches share nothing', async (t) => {
  const first = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  const second = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, ...clock() })
  first.remember(token('Ym9i'), verified('bob'))
  t.equal(second.get(token('Ym9i')), undefined)
})

t.test('counts: a lookup that finds a kept token is a hit, a get that finds none a miss, ' +
  'a header fromHeader misses is neither', async (t) => {
  const { now, advance } = clock()
  const cache = createVerifiedTokenCache({ max: 10, idleMs: DAY_MS, now })
  t.same(cache.counts(), { hits: 0, misses: 0 })
  t.equal(cache.get(token('Ym9i')), undefined)
  cache.remember(token('Ym9i'), verified('bob'))
  t.ok(cache.fromHeader(`Bearer ${token('Ym9i')}`))
  t.ok(cache.get(token('Ym9i')))
  t.equal(cache.fromHeader(`bearer ${token('Ym9i')}`), undefined, 'left to the caller, whose get() then counts')
  t.equal(cache.fromHeader('Bearer other'), undefined)
  t.same(cache.counts(), { hits: 2, misses: 1 })
  advance(3600)
  t.throws(() => cache.get(token('Ym9i')), TokenClaimsError)
  t.same(cache.counts(), { hits: 3, misses: 1 }, 'an expired kept token was found, then refused')
})
