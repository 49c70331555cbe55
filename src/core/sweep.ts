/**
 * One timer for the deadlines of many things: `check` runs for every member once per `intervalMs`, while
 * there are members. A timer of each member's own, re-armed on every event, is an object, a callback and
 * the callback's context held for the member's whole life: for open streams, each of them (heap snapshots
 * of 1,000 open streams). Here a member is an entry in a set.
 *
 * Members read the time of the last sweep (`now`) rather than the clock, which it would cost a call on
 * every event to read. A deadline checked with {@link Sweep.since} is never met early, and at most two
 * intervals late.
 */
export class Sweep<T> {
  /** A sweep for deadlines of `shortestMs` or longer: 8 checks within it, and at least one a second. */
  static forDeadlines<T>(shortestMs: number, check: (member: T) => void): Sweep<T> {
    return new Sweep(Math.min(1_000, shortestMs / 8), check);
  }

  private readonly members = new Set<T>();
  private timer: NodeJS.Timeout | undefined;
  /** The time of the last sweep, or of the last member's arrival if that came after it. */
  now = 0;

  constructor(
    readonly intervalMs: number,
    private readonly check: (member: T) => void,
  ) {}

  /** Members now: each is checked at every sweep until deleted. */
  get size(): number {
    return this.members.size;
  }

  add(member: T): void {
    this.now = Date.now();
    this.members.add(member);
    if (this.timer) return;
    this.timer = setInterval(this.sweep, this.intervalMs);
    // The members keep the process alive by their own means (their connections), not by this timer.
    this.timer.unref();
  }

  delete(member: T): void {
    this.members.delete(member);
  }

  /**
   * How long ago `at`, a reading of `now`, was at the least: what has passed for sure, so a deadline
   * compared with it is never met early.
   */
  since(at: number): number {
    return this.now - at - this.intervalMs;
  }

  /** The members, as a list that deletions made meanwhile do not change. */
  list(): T[] {
    return [...this.members];
  }

  private readonly sweep = (): void => {
    this.now = Date.now();
    for (const member of this.members) this.check(member);
    if (this.members.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}
