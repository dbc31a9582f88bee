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
  for (const token of tokens.slice(0, VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.ok(app.tokens.keptBearer(`Bearer ${tokens[0] as string}`), 'the first is kept while the map has room')
  for (const token of tokens.slice(VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.equal(app.tokens.keptBearer(`Bearer ${tokens[0] as string}`), undefined, 'the oldest was dropped')
  t.equal(app.tokens.keptBearer(`Bearer ${tokens[1] as string}`), undefined, 'and the next oldest')
  t.ok(app.tokens.keptBearer(`Bearer ${tokens[2] as string}`), 'the rest are kept')
  t.ok(app.tokens.keptBearer(`Bearer ${tokens.at(-1) as string}`))
  // A dropped token still verifies: the map saves work, it decides nothing.
  t.equal(app.tokens.verifyAccessToken(tokens[0] as string).claims.sub, 'bob')
})
