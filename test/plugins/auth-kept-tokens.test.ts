import t from 'tap'
import { VERIFIED_TOKENS_KEPT } from '../../plugins/auth.js'
import { buildTestApp } from '../helper.js'

// Issue 12, soak: the map of verified tokens is bounded, oldest out first, so fresh logins cannot grow it.
t.test('at most VERIFIED_TOKENS_KEPT verified tokens are kept, the oldest dropped first', async (t) => {
  t.equal(VERIFIED_TOKENS_KEPT, 4_096)
  const app = buildTestApp(t)
  await app.ready()
  const issue = (i: number): string => app.tokens.issueAccessToken({
    username: 'bob', roles: ['client'], scopes: ['items:read'], generation: 0, loginId: `login${String(i).padStart(17, '0')}`
  }).token
  const tokens = Array.from({ length: VERIFIED_TOKENS_KEPT + 2 }, (_, i) => issue(i))
  const misses = (): number => app.verifiedTokens.counts().misses
  for (const token of tokens.slice(0, VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.equal(app.verifiedTokens.size(), VERIFIED_TOKENS_KEPT)
  for (const token of tokens.slice(VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.equal(app.verifiedTokens.size(), VERIFIED_TOKENS_KEPT, 'full: each new token drops one')
  const before = misses()
  app.tokens.verifyAccessToken(tokens[2] as string)
  app.tokens.verifyAccessToken(tokens.at(-1) as string)
  t.equal(misses(), before, 'the rest are kept')
  // A dropped token still verifies: the map saves work, it decides nothing.
  t.equal(app.tokens.verifyAccessToken(tokens[0] as string).claims.sub, 'bob')
  t.equal(misses(), before + 1, 'the oldest was dropped')
})
