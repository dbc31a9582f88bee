export interface TimingFloorOptions {
  /** Milliseconds, monotonic (performance.now). */
  clock?: () => number
  sleep?: (ms: number) => Promise<void>
}

/**
 * The time a failed password check must take so that it does not tell which kind of hash, if
 * any, it was checked against (API.md "Tokens": the same time whether the user exists or not).
 * Each kind of hash (algorithm and cost) is measured once, at its first verification; the floor
 * is the slowest of them. A failure then waits, on a timer rather than a hashing slot, until
 * that long after its own hashing started: an unknown user (a dummy argon2id check), an argon2id
 * user and an imported bcrypt user all answer after the slowest verification.
 */
export interface TimingFloor {
  /** The clock durations are measured with. */
  clock (): number
  /** The first duration of each kind counts; later ones are ignored, so one slow moment cannot raise it. */
  record (kind: string, ms: number): void
  has (kind: string): boolean
  /** The slowest kind's time, 0 before any is measured. */
  floorMs (): number
  /** Resolves once `floorMs()` has passed since `startedAt` (a value of `clock`). */
  hold (startedAt: number): Promise<void>
}

export function createTimingFloor ({
  clock = () => performance.now(),
  sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))
}: TimingFloorOptions = {}): TimingFloor {
  const measured = new Map<string, number>()
  let floor = 0
  return {
    clock,
    record (kind, ms) {
      if (measured.has(kind)) return
      measured.set(kind, ms)
      floor = Math.max(floor, ms)
    },
    has: (kind) => measured.has(kind),
    floorMs: () => floor,
    async hold (startedAt) {
      // A timer may fire a little early against the clock (libuv counts from its cached loop
      // time, in whole ms): wait again until the floor has really passed.
      for (let wait = startedAt + floor - clock(); wait > 0; wait = startedAt + floor - clock()) await sleep(Math.ceil(wait))
    }
  }
}
