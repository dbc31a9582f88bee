import t from 'tap'
import { VERIFIED_TOKENS_IDLE_MS, VERIFIED_TOKENS_KEPT } from '../../plugins/auth.js'
import { buildTestApp } from '../helper.js'

// Issue 12, soak: the map of verified tokens is bounded, so fresh logins cannot grow it. Issue 13: full,
// it keeps its tokens while they are presented, so tokens presented in turn, more than it holds, still
// hit; tokens nobody presents make room.
t.test('at most VERIFIED_TOKENS_KEPT verified tokens are kept; when full, new ones are verified each time', async (t) => {
  t.equal(VERIFIED_TOKENS_KEPT, 16_384)
  t.equal(VERIFIED_TOKENS_IDLE_MS, 10_000)
  let nowMs = Date.now()
  const app = buildTestApp(t, { now: () => nowMs })
  await app.ready()
  const issue = (i: number): string => app.tokens.issueAccessToken({
    username: 'bob', roles: ['client'], scopes: ['items:read'], generation: 0, loginId: `login${String(i).padStart(17, '0')}`
  }).token
  const tokens = Array.from({ length: VERIFIED_TOKENS_KEPT + 2 }, (_, i) => issue(i))
  const misses = (): number => app.verifiedTokens.counts().misses
  for (const token of tokens.slice(0, VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.equal(app.verifiedTokens.size(), VERIFIED_TOKENS_KEPT)
  for (const token of tokens.slice(VERIFIED_TOKENS_KEPT)) app.tokens.verifyAccessToken(token)
  t.equal(app.verifiedTokens.size(), VERIFIED_TOKENS_KEPT, 'full: none expired, so no new one was kept')
  const before = misses()
  app.tokens.verifyAccessToken(tokens[0] as string)
  app.tokens.verifyAccessToken(tokens[VERIFIED_TOKENS_KEPT - 1] as string)
  t.equal(misses(), before, 'the first ones are still kept')
  // A token not kept still verifies: the map saves work, it decides nothing.
  t.equal(app.tokens.verifyAccessToken(tokens.at(-1) as string).sub, 'bob')
  t.equal(misses(), before + 1, 'the newest was verified again')

  // Two turns in which nobody presents the kept tokens: they leave, and the newest is kept.
  nowMs += 2 * VERIFIED_TOKENS_IDLE_MS
  app.tokens.verifyAccessToken(tokens.at(-1) as string)
  t.equal(app.verifiedTokens.size(), 1)
  app.tokens.verifyAccessToken(tokens.at(-1) as string)
  t.equal(misses(), before + 2, 'kept now: the second presentation was a hit')
})
