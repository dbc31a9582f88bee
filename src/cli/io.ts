import type { HashCost } from '../passwords.js'

/** What the CLI reads its password from: process.stdin, or a stream in tests. */
export interface CliInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?: (mode: boolean) => unknown
}

export interface CliOutput { write: (text: string) => unknown }

export interface CliIo {
  env: Record<string, string | undefined>
  stdin: CliInput
  stdout: CliOutput
  stderr: CliOutput
  /** 'test' makes argon2 cheap; never use it for real passwords. */
  hashCost?: HashCost
  now?: () => number
}

/** A failure to report in one line: exit code 1. */
export class CliError extends Error {}
