import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createBufferedDestination, type BufferedDestinationOptions } from '../../src/log-destination.js'

/** A destination whose writes land in `written`, or fail with `fail`'s code while it is set. */
function recorded (t: Test, options: BufferedDestinationOptions = {}): {
  destination: ReturnType<typeof createBufferedDestination>, written: string[], calls: () => number, fail: (code?: string) => void
} {
  const written: string[] = []
  let calls = 0
  let failing: string | undefined
  const destination = createBufferedDestination({
    intervalMs: 60_000,
    ...options,
    write: (_fd, data) => {
      calls++
      if (failing !== undefined) throw Object.assign(new Error(failing), { code: failing })
      written.push(Buffer.from(data).toString())
      return data.length
    }
  })
  t.teardown(() => { destination.close() })
  return { destination, written, calls: () => calls, fail: (code) => { failing = code } }
}

/** The exit listener the destination added: called here, since emitting 'exit' would run tap's own. */
function exitHook (before: readonly Function[]): () => void {
  const added = process.listeners('exit').filter((listener) => !before.includes(listener))
  if (added.length !== 1) throw new Error(`expected one new exit listener, found ${added.length}`)
  return added[0] as () => void
}

t.test('lines wait until `bytes` characters are pending, then leave in one write', async (t) => {
  const { destination, written } = recorded(t, { bytes: 20 })
  destination.write('{"a":1}\n')
  destination.write('{"b":2}\n')
  t.same(written, [], 'under 20 characters: nothing written yet')
  destination.write('{"c":3}\n')
  t.same(written, ['{"a":1}\n{"b":2}\n{"c":3}\n'])
})

t.test('a line waits at most `intervalMs`', async (t) => {
  const { destination, written } = recorded(t, { intervalMs: 20 })
  destination.write('{"a":1}\n')
  t.same(written, [])
  await sleep(100)
  t.same(written, ['{"a":1}\n'])
})

t.test('flush writes what is pending, and nothing when nothing is', async (t) => {
  const { destination, written, calls } = recorded(t)
  destination.flush()
  t.equal(calls(), 0)
  destination.write('{"a":1}\n')
  destination.flush()
  t.same(written, ['{"a":1}\n'])
})

t.test('the process\'s exit writes what is pending', async (t) => {
  const before = process.listeners('exit')
  const { destination, written } = recorded(t)
  const onExit = exitHook(before)
  destination.write('{"last":true}\n')
  onExit()
  t.same(written, ['{"last":true}\n'])
})

// The reason this is not pino.destination({ minLength }): its flushSync() retried EPIPE forever, at exit.
t.test('a reader that is gone (EPIPE) ends the writing at once, and nothing throws or loops', async (t) => {
  const before = process.listeners('exit')
  const { destination, calls, fail } = recorded(t)
  const onExit = exitHook(before)
  fail('EPIPE')
  destination.write('{"a":1}\n')
  destination.flush()
  t.equal(calls(), 1)
  destination.write('{"b":2}\n')
  destination.flush()
  onExit()
  t.equal(calls(), 1, 'no write is tried again')
})

t.test('a slow reader (EAGAIN) gets the lines at the next flush', async (t) => {
  const { destination, written, fail } = recorded(t)
  fail('EAGAIN')
  destination.write('{"a":1}\n')
  destination.flush()
  t.same(written, [])
  fail(undefined)
  destination.write('{"b":2}\n')
  destination.flush()
  t.same(written, ['{"a":1}\n{"b":2}\n'])
})

t.test('past maxPendingBytes a reader that does not read loses the lines, and is told how many characters', async (t) => {
  const { destination, written, fail } = recorded(t, { maxPendingBytes: 10 })
  fail('EAGAIN')
  destination.write('{"lost":1}\n')
  destination.flush()
  fail(undefined)
  destination.write('{"b":2}\n')
  destination.flush()
  t.equal(written.length, 1)
  const [kept, notice] = (written[0] ?? '').trimEnd().split('\n')
  t.equal(kept, '{"b":2}')
  t.match(JSON.parse(notice ?? '{}'), { level: 40, msg: '11 bytes of log lines dropped: the log reader did not keep up' })
})

// Three bytes at a time: the first write ends inside the two bytes of "é", which must arrive whole.
t.test('a partial write keeps the rest, as bytes, for the next flush', async (t) => {
  const written: Buffer[] = []
  const destination = createBufferedDestination({
    intervalMs: 60_000,
    write: (_fd, data) => {
      const part = Buffer.from(data.subarray(0, 3))
      written.push(part)
      return part.length
    }
  })
  t.teardown(() => { destination.close() })
  destination.write('{"é":1}\n')
  for (let i = 0; i < 3; i++) destination.flush()
  t.equal(Buffer.concat(written).toString(), '{"é":1}\n')
  t.equal(written.length, 3, 'nine bytes in three writes, and no empty one')
})

t.test('close writes what is pending and leaves the exit alone', async (t) => {
  const before = process.listenerCount('exit')
  const { destination, written } = recorded(t)
  t.equal(process.listenerCount('exit'), before + 1)
  destination.write('{"a":1}\n')
  destination.close()
  t.same(written, ['{"a":1}\n'])
  t.equal(process.listenerCount('exit'), before)
})
