/**
 * Lets at most `limit` tasks run at once; the others wait their turn, first come first served. Sends pass
 * through one so that a burst of them queues here instead of in the database pool, where they would hold
 * back the batched text flushes and final saves of running replies, and fail after the pool's connect
 * timeout (measured: 1,000 sends at once on a pool of 20).
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
