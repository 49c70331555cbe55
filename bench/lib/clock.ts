// One clock for every benchmark process: wall-clock milliseconds with sub-millisecond resolution. Child
// processes' clocks are compared with the parent's over IPC (see calibrate in bench/lib/processes.ts).

/** Milliseconds since the epoch, with microsecond resolution. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

const STAMP_CHARS = 7;
const STAMP_MODULUS = 36 ** STAMP_CHARS; // about 21 hours of microseconds

/** The time, in 7 base-36 characters (microseconds, modulo about 21 hours). */
export function encodeStamp(ms: number): string {
  return (Math.round(ms * 1000) % STAMP_MODULUS).toString(36).padStart(STAMP_CHARS, "0");
}

/** Milliseconds from a stamp to `at` (both on the same clock; negative if `at` is earlier). */
export function sinceStamp(stamp: string, at: number): number {
  const sent = Number.parseInt(stamp, 36);
  const received = Math.round(at * 1000) % STAMP_MODULUS;
  let micros = (received - sent) % STAMP_MODULUS;
  if (micros > STAMP_MODULUS / 2) micros -= STAMP_MODULUS;
  else if (micros < -STAMP_MODULUS / 2) micros += STAMP_MODULUS;
  return micros / 1000;
}

export const STAMP_LENGTH = STAMP_CHARS;
