// Child processes of the benchmark: CPU pinning, the registry that lets an interrupted run kill
// them all, and what the kernel says of a process's CPU time and peak memory.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import pidusage from 'pidusage'

/** The CPUs this process may run on, from /proc; empty where that is unknown. */
function allowedCpus (): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'))
    if (line === undefined) return []
    return line.split(':')[1]!.trim().split(',').flatMap((part) => {
      const [from, to] = part.split('-').map(Number) as [number, number | undefined]
      return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i)
    })
  } catch {
    return []
  }
}

/** Servers on one CPU, load generators on another, so neither takes the other's time. */
export interface Pinning { server?: number, load?: number, description: string }

export function choosePinning (): Pinning {
  const cpuList = allowedCpus()
  const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  if (!hasTaskset) return { description: 'Servers and load generators unpinned (no taskset)' }
  if (cpuList.length < 2) return { description: 'Servers and load generators unpinned (fewer than 2 usable CPUs)' }
  const [server, load] = cpuList as [number, number]
  return { server, load, description: `Servers pinned to CPU ${server}, load generators and the harness to CPU ${load} with taskset` }
}

/**
 * Moves this process (every thread) to the load generators' CPU: the servers' CPU is theirs alone,
 * and this process reads the access lines of the LOG_LEVEL=info server while it is measured.
 */
export function pinSelf (pinning: Pinning): void {
  if (pinning.load !== undefined) spawnSync('taskset', ['-a', '-p', '-c', String(pinning.load), String(process.pid)], { stdio: 'ignore' })
}

/** `node <args>`, under `taskset -c <cpu>` when a CPU is given. */
export function nodeCommand (cpu: number | undefined, args: string[]): [string, string[]] {
  return cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]]
}

const children = new Set<ChildProcess>()

/** Registers a child so that killChildren() reaches it while it runs. */
export function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

export function killChildren (): void {
  for (const child of children) child.kill('SIGKILL')
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

/**
 * Keeps the last `limit` characters a stream wrote, for error messages. It takes each chunk as it
 * is (the LOG_LEVEL=info server sends one per access line, tens of thousands a second) and decodes
 * only when asked: 0.08 µs a chunk, where re-slicing a 16 kB string took 1.4.
 */
export function tail (limit: number): { push: (chunk: Buffer) => void, text: () => string } {
  const chunks: Buffer[] = []
  let size = 0
  return {
    push (chunk) {
      chunks.push(chunk)
      size += chunk.length
      while (size - (chunks[0] as Buffer).length >= limit) size -= (chunks.shift() as Buffer).length
    },
    text: () => Buffer.concat(chunks).toString().slice(-limit)
  }
}

/** CPU seconds (user + system, all threads) a process has used; undefined once it is gone or where unknown. */
export async function cpuSeconds (pid: number): Promise<number | undefined> {
  try {
    return (await pidusage(pid)).ctime / 1000
  } catch {
    return undefined
  }
}

/**
 * Peak resident set of a process, from the kernel's high-water mark (Linux only). pidusage reports
 * the current RSS only, and sampling it would miss the peaks between samples.
 */
export function peakRssMiB (pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status)
    return match === null ? undefined : Number(match[1]) / 1024
  } catch {
    return undefined
  }
}
