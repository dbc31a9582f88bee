import { writeSync } from 'node:fs'

/** pino's destination: anything with a `write(line)`. */
export interface BufferedDestination {
  write (line: string): void
  /** Writes what is buffered now, synchronously; also run by the timer, past `bytes`, and at exit. */
  flush (): void
  /** Stops the timer and the exit hook, after a last flush. */
  close (): void
}

export interface BufferedDestinationOptions {
  fd?: number
  /** Lines are written once this many characters wait (4096). */
  bytes?: number
  /** And at most this long after they were made (100 ms). */
  intervalMs?: number
  /** A log reader that stops reading (EAGAIN) lets this much wait; past it the lines are dropped, and said so (1 MiB). */
  maxPendingBytes?: number
  /** fs.writeSync; tests give one that fails. */
  write?: (fd: number, data: Uint8Array) => number
}

/** A line in pino's shape, at warn: what a reader that stopped reading did not get. */
function droppedLine (bytes: number): string {
  const msg = `${bytes} bytes of log lines dropped: the log reader did not keep up`
  return `${JSON.stringify({ level: 40, time: Date.now(), msg })}\n`
}

/**
 * Log lines written in batches (issue 13): one write(2) per access line was most of what
 * LOG_LEVEL=info cost a request. Written synchronously, so the process's exit writes what is left.
 *
 * Not pino.destination({ minLength }): its flushSync() retries any failed write forever, so at exit
 * with the log reader gone (EPIPE) the process never ended. Here a reader that is gone (any error
 * but EAGAIN) ends the writing and drops the lines; one that is slow (EAGAIN) gets them later.
 */
export function createBufferedDestination ({
  fd = 1, bytes = 4096, intervalMs = 100, maxPendingBytes = 1 << 20, write = writeSync
}: BufferedDestinationOptions = {}): BufferedDestination {
  let pending = ''
  // The bytes a partial write left, kept as bytes: cut as a string, a character could be split.
  let unwritten: Uint8Array = Buffer.alloc(0)
  let dropped = 0
  let broken = false

  function flush (): void {
    if (broken || (pending === '' && unwritten.length === 0)) return
    const text = dropped === 0 ? pending : `${pending}${droppedLine(dropped)}`
    const data = unwritten.length === 0 ? Buffer.from(text) : Buffer.concat([unwritten, Buffer.from(text)])
    pending = ''
    dropped = 0
    try {
      // A partial write, possible on a non-blocking pipe: the rest goes next time.
      unwritten = data.subarray(write(fd, data))
    } catch (err) {
      unwritten = data
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        broken = true
        unwritten = Buffer.alloc(0)
      } else if (unwritten.length > maxPendingBytes) {
        dropped += unwritten.length
        unwritten = Buffer.alloc(0)
      }
    }
  }

  const timer = setInterval(flush, intervalMs).unref()
  process.on('exit', flush)
  return {
    write (line) {
      pending += line
      if (pending.length >= bytes) flush()
    },
    flush,
    close () {
      flush()
      clearInterval(timer)
      process.off('exit', flush)
    }
  }
}
