// `npm start`'s entry. libuv sizes its thread pool once, when it is first used, and loading an ES
// module already uses it; so this CommonJS file sizes the pool before it imports the server: one
// thread per core for argon2 (src/passwords.ts) plus libuv's default 4 for fs, dns and zlib.
import { availableParallelism } from 'node:os'

process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism() + 4)
void import('./server.js')
