import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import type { CliInput } from '../../../src/cli/io.js'
import { main } from '../../../src/cli/main.js'
import { USAGE } from '../../../src/cli/usage.js'
import { createPasswordHasher } from '../../../src/passwords.js'
import { openSqliteStore } from '../../../src/store/sqlite/store.js'
import type { UsersRepository } from '../../../src/store/users.js'
import { buildTestApp, tokenRequest } from '../../helper.js'

const FIXTURE = fileURLToPath(new URL('../../fixtures/fastapi-users.json', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const NOW = Date.parse('2026-01-02T03:04:05.000Z')

/** A fake terminal: what the CLI types into, with raw mode recorded. */
class FakeTerminal extends PassThrough implements CliInput {
  isTTY = true
  rawModes: boolean[] = []
  setRawMode (mode: boolean): this {
    this.rawModes.push(mode)
    return this
  }
}

class Output {
  text = ''
  private readonly waiters: Array<{ pattern: string, resolve: () => void }> = []
  write (chunk: string): boolean {
    this.text += chunk
    for (const waiter of this.waiters.filter((w) => this.text.includes(w.pattern))) waiter.resolve()
    return true
  }

  /** Resolves once `pattern` was written: the CLI is waiting for the next input then. */
  async written (pattern: string): Promise<void> {
    if (this.text.includes(pattern)) return
    await new Promise<void>((resolve) => this.waiters.push({ pattern, resolve }))
  }
}

interface Run { code: number, stdout: string, stderr: string }

/** A fresh database file per test, and the CLI's view of it. */
function setup (t: Test) {
  const databasePath = join(t.testdir(), 'data', 'app.db')
  const env = { DATABASE_PATH: databasePath, JWT_SECRET: 'x'.repeat(32) }
  async function cli (argv: string[], { stdin = '', terminal }: { stdin?: string, terminal?: FakeTerminal } = {}): Promise<Run> {
    const input = terminal ?? new PassThrough()
    if (terminal === undefined) input.end(stdin)
    const stdout = new Output()
    const stderr = new Output()
    const code = await main(argv, { env, stdin: input, stdout, stderr, hashCost: 'test', now: () => NOW })
    return { code, stdout: stdout.text, stderr: stderr.text }
  }
  /** Opens the same database as the CLI, for checks and set-up. */
  function repository (): UsersRepository {
    const store = openSqliteStore(databasePath)
    t.teardown(() => store.close())
    return store.users
  }
  return { databasePath, env, cli, repository }
}

t.test('--help and help print the usage on stdout and exit 0', async (t) => {
  const { cli, databasePath } = setup(t)
  for (const argv of [['--help'], ['-h'], ['help'], ['user', 'add', '--help']]) {
    t.same(await cli(argv), { code: 0, stdout: USAGE, stderr: '' }, argv.join(' '))
  }
  t.notOk(existsSync(databasePath), 'no database was created')
})

t.test('wrong usage exits 2 with the problem and the usage on stderr, and touches no database', async (t) => {
  const { cli, databasePath } = setup(t)
  const cases: Record<string, string[]> = {
    'Missing command': [],
    'Unknown command "group"': ['group', 'list'],
    'Missing user command': ['user'],
    'Unknown user command "frobnicate"': ['user', 'frobnicate'],
    'user add needs --roles': ['user', 'add', 'alice'],
    'Usage: secure-api user add USERNAME': ['user', 'add', '--roles', 'admin'],
    'Usage: secure-api user list': ['user', 'list', 'extra'],
    'Usage: secure-api user set-roles USERNAME ROLES': ['user', 'set-roles', 'alice'],
    'Usage: secure-api user import FILE': ['user', 'import'],
    'user list does not take --roles': ['user', 'list', '--roles', 'admin'],
    'user delete does not take --disabled': ['user', 'delete', 'alice', '--disabled'],
    "Unknown option '--nope'": ['user', 'list', '--nope']
  }
  for (const [message, argv] of Object.entries(cases)) {
    const run = await cli(argv)
    t.equal(run.code, 2, argv.join(' '))
    t.equal(run.stdout, '')
    t.match(run.stderr, message)
    t.ok(run.stderr.endsWith(USAGE))
  }
  t.notOk(existsSync(databasePath), 'no database was created')
})

t.test('a password on the command line is refused, whatever its spelling', async (t) => {
  const { cli } = setup(t)
  for (const flag of [['--password', 'hunter22'], ['--password=hunter22'], ['-password', 'x']]) {
    const run = await cli(['user', 'add', 'alice', '--roles', 'client', ...flag])
    t.equal(run.code, 2)
    t.match(run.stderr, /^Passwords are never taken from the command line/)
    t.notMatch(run.stderr, /hunter22/)
  }
})

t.test('a bad configuration exits 1 naming the variable', async (t) => {
  const stderr = new Output()
  const code = await main(['user', 'list'], { env: { PORT: 'many' }, stdin: new PassThrough(), stdout: new Output(), stderr })
  t.equal(code, 1)
  t.match(stderr.text, /^error: PORT: /)
})

t.test('user add reads the password from the first line of standard input', async (t) => {
  const { cli, repository } = setup(t)
  const run = await cli(['user', 'add', 'alice', '--roles', 'client,admin', '--email', 'alice@example.com', '--full-name', 'Alice Chains',
    '--disabled'], { stdin: 'correct horse\r\nignored\n' })
  // Roles are a set, kept and shown in the policy's order.
  t.same(run, { code: 0, stdout: 'Created user alice (roles: admin, client).\n', stderr: '' })
  const alice = await repository().find('alice')
  t.match(alice, {
    username: 'alice',
    roles: ['admin', 'client'],
    email: 'alice@example.com',
    full_name: 'Alice Chains',
    disabled: true,
    created_at: new Date(NOW).toISOString()
  })
  t.match(alice?.password_hash, /^\$argon2id\$/)
  t.equal(await createPasswordHasher({ cost: 'test' }).verify(alice!.password_hash, 'correct horse'), true)
})

// SECURITY.md: real passwords are hashed at OWASP's argon2id parameters; only tests ask for less.
t.test('without a hash cost, user add stores an argon2id hash at OWASP\'s parameters', async (t) => {
  const { env, repository } = setup(t)
  const stdin = new PassThrough()
  stdin.end('correct horse\n')
  const code = await main(['user', 'add', 'carol', '--roles', 'client'],
    { env, stdin, stdout: new Output(), stderr: new Output(), now: () => NOW })
  t.equal(code, 0)
  t.match((await repository().find('carol'))?.password_hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/, '19 MiB, p=1, t=2')
})

t.test('user add takes a password without a final newline, and the defaults: no email, no full name, enabled; ' +
  'roles may be empty', async (t) => {
  const { cli, repository } = setup(t)
  t.same(await cli(['user', 'add', 'bob', '--roles', ''], { stdin: 'correct horse' }),
    { code: 0, stdout: 'Created user bob (roles: none).\n', stderr: '' })
  const bob = await repository().find('bob')
  t.match(bob, { email: null, full_name: null, disabled: false, roles: [] })
  t.equal(await createPasswordHasher({ cost: 'test' }).verify(bob!.password_hash, 'correct horse'), true)
})

t.test('user add refuses a missing, short or overlong password from standard input, and creates nobody', async (t) => {
  const { cli, repository } = setup(t)
  const cases: Record<string, string> = {
    'error: No password on standard input\n': '',
    'error: No password on standard input\n ': '\nsecond line',
    'error: password must NOT have fewer than 8 characters\n': 'short\n',
    'error: password must NOT have more than 1024 characters\n': 'x'.repeat(9000)
  }
  for (const [message, stdin] of Object.entries(cases)) {
    t.same(await cli(['user', 'add', 'bob', '--roles', 'client'], { stdin }), { code: 1, stdout: '', stderr: message.trimEnd() + '\n' })
  }
  t.equal(await repository().count(), 0)
})

// API.md "Several instances": a password change made by the command line revokes the user's tokens
// (test/src/cli/main-revocation.test.ts checks a running server refuses them).
t.test('user set-password reads the new password as user add does, stores its argon2id hash and bumps the generation', async (t) => {
  const { cli, repository } = setup(t)
  const users = repository()
  const { token_generation: start } = await users.create({ username: 'bob', password_hash: 'old', roles: ['client'] }, new Date(NOW))
  t.same(await cli(['user', 'set-password', 'bob'], { stdin: 'correct horse\nignored\n' }),
    { code: 0, stdout: 'User bob has a new password; its earlier tokens stop working.\n', stderr: '' })
  const bob = await users.find('bob')
  t.match(bob, { password_hash: /^\$argon2id\$/, token_generation: start + 1 })
  t.equal(await createPasswordHasher({ cost: 'test' }).verify(bob!.password_hash, 'correct horse'), true)

  const refused: Record<string, string> = {
    'error: No password on standard input\n': '',
    'error: password must NOT have fewer than 8 characters\n': 'short\n',
    'error: password must NOT have more than 1024 characters\n': 'x'.repeat(9000)
  }
  for (const [message, stdin] of Object.entries(refused)) {
    t.same(await cli(['user', 'set-password', 'bob'], { stdin }), { code: 1, stdout: '', stderr: message })
  }
  t.same(await cli(['user', 'set-password', 'nobody'], { stdin: 'correct horse\n' }),
    { code: 1, stdout: '', stderr: 'error: user "nobody" does not exist\n' })
  t.same(await cli(['user', 'set-password', 'bob', '--password', 'hunter22']).then((run) => run.code), 2)
  t.match(await users.find('bob'), { password_hash: bob!.password_hash, token_generation: start + 1 }, 'a refused change changes nothing')
})

t.test('on a terminal, user add asks twice without echo, in raw mode, and honours backspace', async (t) => {
  const { cli, repository } = setup(t)
  const terminal = new FakeTerminal()
  // Typed keys: "correct horsf", backspace, "e", Enter (CR LF), then again in one go with a stray escape.
  terminal.write('correct horsf\u007fe\r')
  terminal.write('\ncorrect horse\u001b\r')
  const run = await cli(['user', 'add', 'carol', '--roles', 'admin'], { terminal })
  t.same(run, { code: 0, stdout: 'Created user carol (roles: admin).\n', stderr: 'Password: \nRepeat password: \n' })
  t.same(terminal.rawModes, [true, false], 'raw mode on, then restored')
  t.equal(await createPasswordHasher({ cost: 'test' }).verify((await repository().find('carol'))!.password_hash, 'correct horse'), true)
})

t.test('on a terminal, two different passwords, Ctrl-C or the end of input create nobody', async (t) => {
  const { cli, repository } = setup(t)
  const cases: Record<string, string[]> = {
    'The passwords do not match': ['correct horse\r', 'correct house\r'],
    Cancelled: ['correct\u0003'],
    'Cancelled ': ['correct horse\rcorrect horse\r\u0003'],
    'No password entered': ['correct horse\r']
  }
  for (const [message, keys] of Object.entries(cases)) {
    const terminal = new FakeTerminal()
    for (const chunk of keys) terminal.write(chunk)
    terminal.end()
    const run = await cli(['user', 'add', 'carol', '--roles', 'admin'], { terminal })
    t.equal(run.code, 1, message)
    t.match(run.stderr, `error: ${message.trim()}\n`)
    t.same(terminal.rawModes, [true, false])
  }
  t.equal(await repository().count(), 0)
})

t.test('user add checks the username, roles and email with the API rules before asking for a password', async (t) => {
  const { cli } = setup(t)
  const cases: Array<[string[], string]> = [
    [['user', 'add', 'Al', '--roles', 'client'], 'error: username must match pattern "^[a-z0-9][a-z0-9_.-]{2,31}$"\n'],
    [['user', 'add', 'alice', '--roles', 'client,root'], 'error: role "root" does not exist (roles: admin, client)\n'],
    [['user', 'add', 'alice', '--roles', 'client,client'], 'error: roles must NOT have duplicate items (items ## 0 and 1 are identical)\n'],
    [['user', 'add', 'alice', '--roles', 'client', '--email', 'nope', '--full-name', ''],
      'error: email must match format "email"; full_name must NOT have fewer than 1 characters\n']
  ]
  for (const [argv, message] of cases) {
    const terminal = new FakeTerminal()
    t.same(await cli(argv, { terminal }), { code: 1, stdout: '', stderr: message }, argv.join(' '))
    t.same(terminal.rawModes, [], 'no password was asked')
  }
})

t.test('user add refuses a username that exists, before asking for a password', async (t) => {
  const { cli, repository } = setup(t)
  await repository().create({ username: 'alice', password_hash: 'x', roles: ['client'] }, new Date(NOW))
  const terminal = new FakeTerminal()
  t.same(await cli(['user', 'add', 'alice', '--roles', 'admin'], { terminal }),
    { code: 1, stdout: '', stderr: 'error: user "alice" already exists\n' })
  t.same(terminal.rawModes, [])
})

t.test('user add fails cleanly when the username is taken while the password is typed', async (t) => {
  const { env, repository } = setup(t)
  const terminal = new FakeTerminal()
  const stderr = new Output()
  const running = main(['user', 'add', 'alice', '--roles', 'admin'],
    { env, stdin: terminal, stdout: new Output(), stderr, hashCost: 'test' })
  await stderr.written('Password: ')
  await repository().create({ username: 'alice', password_hash: 'x', roles: ['client'] }, new Date(NOW))
  terminal.write('correct horse\rcorrect horse\r')
  t.equal(await running, 1)
  t.match(stderr.text, 'error: Username "alice" is taken\n')
})

t.test('user list prints a table, or says that the database has no users', async (t) => {
  const { cli, databasePath, repository } = setup(t)
  t.same(await cli(['user', 'list']), { code: 0, stdout: `No users in ${databasePath}.\n`, stderr: '' })
  const users = repository()
  await users.create({ username: 'johndoe', password_hash: 'x', roles: ['admin'], email: 'johndoe@example.com', full_name: 'John Doe' },
    new Date(NOW))
  await users.create({ username: 'alice', password_hash: 'x', roles: [], disabled: true }, new Date(NOW))
  t.same(await cli(['user', 'list']), {
    code: 0,
    stderr: '',
    stdout: [
      'USERNAME  ROLES  DISABLED  EMAIL                FULL NAME',
      'alice     -      yes       -                    -',
      'johndoe   admin  no        johndoe@example.com  John Doe',
      ''
    ].join('\n')
  })
})

t.test('user list does not pass terminal control characters through', async (t) => {
  const { cli, repository } = setup(t)
  await repository().create({ username: 'mallory', password_hash: 'x', roles: ['client'], full_name: 'Mal\u001b]0;pwned\u0007lory\u009b' },
    new Date(NOW))
  const run = await cli(['user', 'list'])
  t.match(run.stdout, 'Mal\ufffd]0;pwned\ufffdlory\ufffd')
  t.notMatch(run.stdout, /(?!\n)\p{Cc}/u)
})

t.test('user disable and enable change the flag and revoke earlier tokens', async (t) => {
  const { cli, repository } = setup(t)
  const users = repository()
  const { token_generation: start } = await users.create({ username: 'bob', password_hash: 'x', roles: ['client'] }, new Date(NOW))
  t.same(await cli(['user', 'disable', 'bob']), { code: 0, stdout: 'User bob is disabled: its tokens stop working.\n', stderr: '' })
  t.match(await users.find('bob'), { disabled: true, token_generation: start + 1 })
  t.same(await cli(['user', 'enable', 'bob']), { code: 0, stdout: 'User bob is enabled.\n', stderr: '' })
  t.match(await users.find('bob'), { disabled: false, token_generation: start + 2 })
})

t.test('user set-roles replaces the roles, checked like the API', async (t) => {
  const { cli, repository } = setup(t)
  const users = repository()
  const { token_generation: start } = await users.create({ username: 'bob', password_hash: 'x', roles: ['client'] }, new Date(NOW))
  t.same(await cli(['user', 'set-roles', 'bob', 'client, admin']),
    { code: 0, stdout: 'User bob now has roles: admin, client; its earlier tokens stop working.\n', stderr: '' })
  t.match(await users.find('bob'), { roles: ['admin', 'client'], token_generation: start + 1 })
  t.same(await cli(['user', 'set-roles', 'bob', 'admin,client']),
    { code: 0, stdout: 'User bob already has roles: admin, client; nothing changed.\n', stderr: '' })
  t.match(await users.find('bob'), { token_generation: start + 1 }, 'the same roles revoke nothing')
  t.same(await cli(['user', 'set-roles', 'bob', '']), {
    code: 0,
    stdout: 'User bob now has roles: none; its earlier tokens stop working.\n',
    stderr: ''
  })
  t.match(await users.find('bob'), { roles: [] })
  t.same(await cli(['user', 'set-roles', 'bob', 'root']), {
    code: 1,
    stdout: '',
    stderr: 'error: role "root" does not exist (roles: admin, client)\n'
  })
  t.same(await cli(['user', 'set-roles', 'bob', 'admin,admin']),
    { code: 1, stdout: '', stderr: 'error: roles must NOT have duplicate items (items ## 0 and 1 are identical)\n' })
  t.match(await users.find('bob'), { roles: [] })
})

t.test('user delete removes the user', async (t) => {
  const { cli, repository } = setup(t)
  const users = repository()
  await users.create({ username: 'bob', password_hash: 'x', roles: ['client'] }, new Date(NOW))
  t.same(await cli(['user', 'delete', 'bob']), { code: 0, stdout: 'Deleted user bob and their items.\n', stderr: '' })
  t.equal(await users.find('bob'), undefined)
})

t.test('disable, enable, set-roles and delete of an unknown user exit 1', async (t) => {
  const { cli } = setup(t)
  for (const argv of [['disable', 'nobody'], ['enable', 'nobody'], ['set-roles', 'nobody', 'admin'], ['delete', 'nobody']]) {
    t.same(await cli(['user', ...argv]), { code: 1, stdout: '', stderr: 'error: user "nobody" does not exist\n' }, argv.join(' '))
  }
})

t.test('user import creates the FastAPI users with their bcrypt hashes', async (t) => {
  const { cli, repository } = setup(t)
  t.same(await cli(['user', 'import', FIXTURE]), {
    code: 0,
    stderr: '',
    stdout: 'Imported 2 users: johndoe, alice.\nThey log in with their existing passwords; ' +
      'each hash is replaced by argon2id at the first login.\n'
  })
  const users = repository()
  t.match(await users.find('johndoe'), {
    roles: ['admin'],
    disabled: false,
    email: 'johndoe@example.com',
    full_name: 'John Doe',
    password_hash: /^\$2b\$12\$/
  })
  t.match(await users.find('alice'), { roles: ['client'], disabled: true, password_hash: /^\$2b\$12\$/ })
})

t.test('user import of a malformed file lists every problem and imports nothing', async (t) => {
  const { cli, repository } = setup(t)
  const dir = t.testdir({ 'users.json': JSON.stringify({ ok: { username: 'okay', role: 'client', hashed_password: 'x' }, ok2: 7 }) })
  const file = join(dir, 'users.json')
  t.same(await cli(['user', 'import', file]), {
    code: 1,
    stdout: '',
    stderr: `error: ${file}: nothing was imported:\n` +
      '  user "ok": username "okay" differs from its key\n' +
      '  user "ok": hashed_password must be a bcrypt ($2b$…) or argon2id hash\n' +
      '  user "ok2": value must be object\n'
  })
  t.equal(await repository().count(), 0)
})

// Issue 12.5: the CLI refuses a hash whose verification would hold a hashing slot for seconds.
t.test('user import refuses a bcrypt hash above cost 14 and imports nothing', async (t) => {
  const { cli, repository } = setup(t)
  const costly = `$2b$15$${'a'.repeat(53)}`
  const dir = t.testdir({ 'users.json': JSON.stringify({ slow: { username: 'slow', role: 'client', hashed_password: costly } }) })
  const file = join(dir, 'users.json')
  t.same(await cli(['user', 'import', file]), {
    code: 1, stdout: '', stderr: `error: ${file}: nothing was imported:\n  user "slow": hashed_password bcrypt cost 15 is above 14\n`
  })
  t.equal(await repository().count(), 0)
})

t.test('user import of a file naming an existing user imports nothing', async (t) => {
  const { cli, repository } = setup(t)
  const users = repository()
  await users.create({ username: 'alice', password_hash: 'x', roles: ['admin'] }, new Date(NOW))
  t.same(await cli(['user', 'import', FIXTURE]), {
    code: 1,
    stdout: '',
    stderr: `error: ${FIXTURE}: nothing was imported: Username "alice" is taken\n`
  })
  t.equal(await users.find('johndoe'), undefined)
  t.equal(await users.count(), 1)
})

t.test('user import of a missing file exits 1 naming it', async (t) => {
  const { cli } = setup(t)
  t.same(await cli(['user', 'import', '/nonexistent/users.json']),
    { code: 1, stdout: '', stderr: "error: cannot read the file: ENOENT: no such file or directory, open '/nonexistent/users.json'\n" })
})

// The round trip: import the FastAPI example users, log in with their old passwords, see argon2id stored.
t.test('imported FastAPI users log in with their old passwords, and the first login stores an argon2id hash', async (t) => {
  const { cli, env, repository } = setup(t)
  t.equal((await cli(['user', 'import', FIXTURE])).code, 0)
  const app = buildTestApp(t, { env: { DATABASE_PATH: env.DATABASE_PATH, DEMO_USERS: 'false' } })

  const wrong = await tokenRequest(app, { username: 'johndoe', password: 'not-secret' })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.json().error, 'invalid_grant')
  t.match((await app.users.find('johndoe'))?.password_hash, /^\$2b\$/, 'a wrong password changes nothing')

  const first = await tokenRequest(app, { username: 'johndoe', password: 'secret' })
  t.equal(first.statusCode, 200)
  t.match(first.json(), { token_type: 'bearer', scope: 'items:read items:write users:read users:write' })
  t.match((await repository().find('johndoe'))?.password_hash, /^\$argon2id\$/, 'stored in the database file')

  const again = await tokenRequest(app, { username: 'johndoe', password: 'secret' })
  t.equal(again.statusCode, 200, 'the argon2id hash verifies the same password')
  const me = await app.inject({
    method: 'GET',
    url: '/users/me',
    headers: { authorization: `Bearer ${again.json<{ access_token: string }>().access_token}` }
  })
  t.same(me.json(), { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false, roles: ['admin'] })

  // API.md "Tokens": a disabled user is refused only after a correct password.
  const alice = await tokenRequest(app, { username: 'alice', password: 'secretalice' })
  t.equal(alice.statusCode, 400)
  t.same(alice.json(), { error: 'invalid_grant', error_description: 'This user is disabled' })
})

t.test('the secure-api entry point runs as a process: exit codes and a password piped on stdin', async (t) => {
  const { env, repository } = setup(t)
  // The same Node options and environment as this test (tap's TypeScript loader), so the source runs as is.
  async function run (argv: string[], stdin: string): Promise<Run> {
    const child = spawn(process.execPath, [...process.execArgv, join(ROOT, 'src/cli.ts'), ...argv],
      { env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env } })
    child.stdin.end(stdin)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? -1)))
    return { code, stdout, stderr }
  }
  // Two processes at once: each spends seconds loading the TypeScript sources.
  const [added, failed] = await Promise.all([run(['user', 'add', 'dave', '--roles', 'client'], 'correct horse\n'), run(['user', 'delete',
    'nobody'], '')])
  t.same(added, { code: 0, stdout: 'Created user dave (roles: client).\n', stderr: '' })
  // The real cost, not the tests' cheap one: OWASP's argon2id parameters.
  t.match((await repository().find('dave'))?.password_hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
  t.same(failed, { code: 1, stdout: '', stderr: 'error: user "nobody" does not exist\n' })
})
