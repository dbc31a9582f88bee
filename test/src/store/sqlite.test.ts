import t from 'tap'
import { openSqliteStore } from '../../../src/store/sqlite/store.js'
import { storeContract } from './contract.js'

storeContract(t, async (t) => {
  const store = openSqliteStore(':memory:')
  t.teardown(store.close)
  return { store, rows: async (query) => store.db.prepare(query).all() as Array<Record<string, unknown>> }
})
