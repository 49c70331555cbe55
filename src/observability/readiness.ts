/** A dependency check: resolves when the dependency works, rejects (or times out) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

/** The outcome of a readiness probe: each check's state, ok or failed, and the reported details. */
export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, "ok" | "failed">;
  details: Record<string, unknown>;
}

/**
 * The checks `/readyz` runs: the database and Redis register theirs in the runtime, and any part added
 * later (MCP servers) registers its own with {@link Readiness.add}. Checks run in parallel, each bounded by
 * a timeout, so one hung dependency cannot hang the probe.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly details = new Map<string, () => unknown>();

  constructor(
    private readonly onFailure: (name: string, error: unknown) => void = () => {},
    private readonly timeoutMs = 2_000,
  ) {}

  /** Registers (or replaces) the check called `name`. */
  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /**
   * Reports `describe()` in the probe's body as `name`, without ever failing the probe: the state of parts
   * the API works without (MCP tool servers).
   */
  detail(name: string, describe: () => unknown): void {
    this.details.set(name, describe);
  }

  /** Removes a check (a part that was shut down). */
  remove(name: string): void {
    this.checks.delete(name);
  }

  /** Runs every check. */
  async run(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        });
        try {
          await Promise.race([check(), timeout]);
          return [name, "ok"] as const;
        } catch (error) {
          this.onFailure(name, error);
          return [name, "failed"] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const details = Object.fromEntries([...this.details].map(([name, describe]) => [name, describe()]));
    return { ready: entries.every(([, state]) => state === "ok"), checks, details };
  }
}
