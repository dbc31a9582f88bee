import { CliError, type CliInput, type CliIo } from './io.js'

// Far longer than any password the API accepts (1024 characters): stop reading there.
const MAX_STDIN_LENGTH = 8192

/** The first line of a piped standard input. */
async function readFirstLine (stdin: CliInput): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += String(chunk)
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end).replace(/\r$/, '')
    if (text.length > MAX_STDIN_LENGTH) break
  }
  return text
}

/** Lines typed on a terminal in raw mode: nothing is echoed; backspace, Ctrl-C and Ctrl-D work. */
function hiddenLines (stdin: CliInput): { next: () => Promise<string>, close: () => void } {
  const lines: string[] = []
  let current = ''
  let afterReturn = false
  let stopped: string | undefined
  let wake: (() => void) | undefined

  const onData = (chunk: string | Buffer): void => {
    for (const char of String(chunk)) {
      const lineFeedOfCrLf = afterReturn && char === '\n'
      afterReturn = char === '\r'
      if (lineFeedOfCrLf) continue
      if (char === '\r' || char === '\n') {
        lines.push(current)
        current = ''
      } else if (char === '\u0003' || char === '\u0004') {
        // Cancelling drops what was typed before, even whole lines.
        stopped ??= 'Cancelled'
        lines.length = 0
      } else if (char === '\u007f' || char === '\b') {
        current = Array.from(current).slice(0, -1).join('')
      } else if (char >= ' ') {
        current += char
      }
    }
    wake?.()
  }
  const onEnd = (): void => {
    stopped ??= 'No password entered'
    wake?.()
  }

  stdin.setEncoding('utf8')
  stdin.setRawMode?.(true)
  stdin.on('data', onData)
  stdin.on('end', onEnd)
  stdin.resume()
  return {
    async next () {
      for (;;) {
        const line = lines.shift()
        if (line !== undefined) return line
        if (stopped !== undefined) throw new CliError(stopped)
        await new Promise<void>((resolve) => { wake = resolve })
      }
    },
    close () {
      stdin.off('data', onData)
      stdin.off('end', onEnd)
      stdin.setRawMode?.(false)
      stdin.pause()
    }
  }
}

/** A new password: asked twice on a terminal, without echo; else the first line of standard input. */
export async function readNewPassword (io: CliIo): Promise<string> {
  if (io.stdin.isTTY !== true) {
    const password = await readFirstLine(io.stdin)
    if (password === '') throw new CliError('No password on standard input')
    return password
  }
  const lines = hiddenLines(io.stdin)
  try {
    io.stderr.write('Password: ')
    const password = await lines.next()
    io.stderr.write('\nRepeat password: ')
    const repeated = await lines.next()
    io.stderr.write('\n')
    if (password !== repeated) throw new CliError('The passwords do not match')
    return password
  } finally {
    lines.close()
  }
}
