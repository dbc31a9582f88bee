import t from 'tap'
import { openDatabase } from '../../../src/db.js'
import { createRefreshTokensRepository } from '../../../src/repositories/refresh-tokens.js'

function setup (t: { teardown (fn: () => unknown): void }) {
  const db = openDatabase(':memory:')
  t.teardown(() => db.close())
  const count = (table: 'refresh_tokens' | 'refresh_families') => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  return { db, repo: createRefreshTokensRepository(db), count }
}

const family = (id: string, username = 'bob') => ({ id, username, scope: 'items:read', generation: 2 })

t.test('a family starts with one live token, found by its hash with the family fields', async (t) => {
  const { repo } = setup(t)
  await repo.createFamily(family('f1'), 'h1', 5000)
  t.same(await repo.find('h1'), {
    token_hash: 'h1', family_id: 'f1', expires_at: 5000, used_at: null, username: 'bob', scope: 'items:read', generation: 2, revoked_at: null
  })
  t.equal(await repo.find('nope'), undefined)
})

t.test('rotate retires the token, stores the successor and extends the family', async (t) => {
  const { db, repo } = setup(t)
  await repo.createFamily(family('f1'), 'h1', 5000)
  t.equal(await repo.rotate('h1', 'h2', 1000, 9000), 'rotated')
  t.match(await repo.find('h1'), { used_at: 1000, expires_at: 5000 })
  t.match(await repo.find('h2'), { family_id: 'f1', used_at: null, expires_at: 9000 })
  t.same(db.prepare('SELECT expires_at FROM refresh_families WHERE id = ?').get('f1'), { expires_at: 9000 })
})

t.test('rotating a used token revokes its family, so its live successor no longer rotates', async (t) => {
  const { repo } = setup(t)
  await repo.createFamily(family('f1'), 'h1', 5000)
  await repo.rotate('h1', 'h2', 1000, 9000)
  t.equal(await repo.rotate('h1', 'h3', 1100, 9100), 'reused')
  t.match(await repo.find('h2'), { revoked_at: 1100, used_at: null })
  t.equal(await repo.rotate('h2', 'h4', 1200, 9200), 'invalid')
  t.equal(await repo.find('h4'), undefined)
  t.same(await repo.revokedAfter(0), [{ id: 'f1', revoked_at: 1100 }])
})

t.test('rotate changes nothing for an unknown, expired or revoked token', async (t) => {
  const { repo, count } = setup(t)
  await repo.createFamily(family('f1'), 'h1', 5000)
  t.equal(await repo.rotate('unknown', 'x', 1000, 9000), 'invalid')
  t.equal(await repo.rotate('h1', 'x', 5000, 9000), 'invalid', 'expired at expires_at')
  await repo.createFamily(family('f2'), 'h2', 5000)
  t.equal(await repo.revokeFamily('f2', 1000), true)
  t.equal(await repo.revokeFamily('f2', 1200), false, 'revoking twice reports the family was not live')
  t.equal(await repo.rotate('h2', 'x', 1400, 9000), 'invalid')
  t.match(await repo.find('h2'), { used_at: null, revoked_at: 1000 })
  t.equal(count('refresh_tokens'), 2)
})

t.test('revokeUser revokes only that user\'s live families and returns their ids', async (t) => {
  const { repo } = setup(t)
  await repo.createFamily(family('f1'), 'h1', 5000)
  await repo.createFamily(family('f2'), 'h2', 5000)
  await repo.createFamily(family('f3', 'alice'), 'h3', 5000)
  await repo.revokeFamily('f1', 100)
  t.same(await repo.revokeUser('bob', 200), ['f2'])
  t.match(await repo.find('h3'), { revoked_at: null })
  t.same(await repo.revokedAfter(150), [{ id: 'f2', revoked_at: 200 }])
  t.same(await repo.revokedAfter(0), [{ id: 'f1', revoked_at: 100 }, { id: 'f2', revoked_at: 200 }])
})

t.test('prune deletes expired tokens and families, and families revoked before the cut-off', async (t) => {
  const { db, repo } = setup(t)
  await repo.createFamily(family('expired'), 'h1', 1000)
  await repo.createFamily(family('live'), 'h2', 5000)
  await repo.rotate('h2', 'h3', 500, 9000) // h2 (expires 5000) is retired, h3 is live
  await repo.createFamily(family('revoked-long-ago'), 'h4', 9000)
  await repo.revokeFamily('revoked-long-ago', 100)
  await repo.createFamily(family('revoked-recently'), 'h5', 9000)
  await repo.revokeFamily('revoked-recently', 5500)
  await repo.prune(6000, 5000)
  const families = db.prepare('SELECT id FROM refresh_families ORDER BY id').all() as Array<{ id: string }>
  t.same(families.map((row) => row.id), ['live', 'revoked-recently'])
  // h1 and h2 expired, h4 went with its family; h5 stays with its recently revoked family.
  t.same((db.prepare('SELECT token_hash FROM refresh_tokens ORDER BY token_hash').all() as Array<{ token_hash: string }>).map((row) => row.token_hash), ['h3', 'h5'])
})
