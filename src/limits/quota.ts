const DAY_MS = 86_400_000;

/** Midnight UTC at the start of `now`'s day: daily token quotas run from one UTC midnight to the next. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

/** Seconds from `now` until the next UTC midnight, when the daily quota starts again. */
export function secondsUntilNextUtcDay(now: Date): number {
  return Math.ceil((startOfUtcDay(now).getTime() + DAY_MS - now.getTime()) / 1000);
}
