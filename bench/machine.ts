// What the report says of the machine: CPU, Node, OS, and how busy it was.
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, type } from 'node:os'
import type { Machine } from './report.js'

/** Above this CPU pressure before the run, other processes were competing for the CPUs. */
export const BUSY_PRESSURE = 10

/** Where the kernel has PSI: the share of the last minute in which some task waited for a CPU, in %. */
export function cpuPressure (): number | undefined {
  try {
    const match = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

export function busyness (pressure: number | undefined): string {
  return `load ${(loadavg()[0] ?? 0).toFixed(2)}${pressure === undefined ? '' : `, CPU pressure ${pressure.toFixed(0)}%`}`
}

export function machine (pinning: string): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match !== null) cpuModel = (match[1] as string).trim()
  } catch {
    // Not Linux: os.cpus() it is.
  }
  return {
    cpuModel,
    cores: cpus().length,
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    pinning,
    load: busyness(cpuPressure())
  }
}
