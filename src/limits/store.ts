/** The outcome of counting one event against a windowed limit. */
export interface WindowHit {
  readonly allowed: boolean;
  /** Events counted in the current window, this one included. */
  readonly count: number;
  /** When the current window ends and the count starts again. */
  readonly resetInMs: number;
}

/** The outcome of asking for one of a limited number of slots. */
export interface SlotGrant {
  readonly acquired: boolean;
  /** Slots held under the key (this one included when acquired). */
  readonly held: number;
}

/**
 * Where rate limits keep their counts: in process by default, in Redis when instances must share them.
 * Both implementations give the same answers; test/integration/limit-store.test.ts runs one suite on both.
 */
export interface LimitStore {
  /** Counts one event under `key` in a fixed window of `windowMs`; allowed while the count is ≤ `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<WindowHit>;
  /**
   * Takes one of `limit` slots under `key` for `holder` (idempotent per holder). A slot frees itself after
   * `ttlMs` even if never released, so a crashed holder cannot keep it forever.
   */
  acquire(key: string, holder: string, limit: number, ttlMs: number): Promise<SlotGrant>;
  /** Gives a slot back; releasing a slot that is not held does nothing. */
  release(key: string, holder: string): Promise<void>;
  /** Whether the store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How often the in-memory store forgets expired windows and slots (keys of idle users and IPs). */
const SWEEP_INTERVAL_MS = 60_000;

/** The single-process store: counts live in this process's memory and die with it. */
export class MemoryLimitStore implements LimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async hit(key: string, limit: number, windowMs: number): Promise<WindowHit> {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count++;
    return { allowed: window.count <= limit, count: window.count, resetInMs: window.resetAt - now };
  }

  async acquire(key: string, holder: string, limit: number, ttlMs: number): Promise<SlotGrant> {
    const now = this.now();
    const holders = this.slots.get(key) ?? new Map<string, number>();
    this.slots.set(key, holders);
    for (const [h, expiresAt] of holders) if (expiresAt <= now) holders.delete(h);
    if (holders.has(holder) || holders.size < limit) {
      holders.set(holder, now + ttlMs);
      return { acquired: true, held: holders.size };
    }
    return { acquired: false, held: holders.size };
  }

  async release(key: string, holder: string): Promise<void> {
    const holders = this.slots.get(key);
    holders?.delete(holder);
    if (holders?.size === 0) this.slots.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    for (const [key, holders] of this.slots) {
      for (const [h, expiresAt] of holders) if (expiresAt <= now) holders.delete(h);
      if (holders.size === 0) this.slots.delete(key);
    }
  }
}
