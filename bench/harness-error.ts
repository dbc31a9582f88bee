/** A failure of the benchmark harness itself (bad option, a server that does not start), not of a measurement. */
export class HarnessError extends Error {}
