import t from 'tap'
import { HasherBusyError } from '../../src/passwords.js'
import { DatabaseUnavailableError } from '../../src/store/errors.js'
import { HASHER_BUSY, RETRY_AFTER, unavailable } from '../../src/unavailable.js'

// API.md "Tokens": a busy hasher's excess gets 503 with Retry-After.
t.test('a busy password hasher is a 503 with Retry-After, worded for both body shapes', async (t) => {
  t.equal(unavailable(new HasherBusyError(), 'req-1'), HASHER_BUSY)
  t.same(HASHER_BUSY, {
    statusCode: 503,
    headers: { 'retry-after': '1' },
    cause: 'busy',
    message: 'Too many password operations at once; retry shortly',
    description: 'Too many logins at once; retry shortly'
  })
})

// API.md "Several instances": while the database cannot be reached, 503 with Retry-After.
t.test('a database fault is a 503 with Retry-After whose words name the request id', async (t) => {
  for (const err of [new DatabaseUnavailableError('gone'), Object.assign(new Error('locked'), { code: 'SQLITE_BUSY' })]) {
    t.same(unavailable(err, 'req-2'), {
      statusCode: 503,
      headers: RETRY_AFTER,
      cause: 'database',
      message: 'Something went wrong; quote request id req-2',
      description: 'The service is unavailable; retry shortly (request id req-2)'
    })
  }
})

t.test('any other error is no 503 of this kind, and the header set cannot be changed by a caller', async (t) => {
  for (const err of [new Error('x'), Object.assign(new Error('x'), { statusCode: 503 }), undefined]) {
    t.equal(unavailable(err,
      'req-3'), undefined)
  }
  t.ok(Object.isFrozen(RETRY_AFTER))
  t.ok(Object.isFrozen(HASHER_BUSY))
})
