import type { Logger } from "../observability/logger.js";
import type { LimitStore } from "./store.js";

/**
 * A slot taken in a {@link LimitStore} (where it is, who holds it, and how long it lives unreleased), given
 * back once however many times it is released. A class rather than an object with a closure over the slot:
 * it lives as long as the stream or reply that holds it.
 */
export class HeldSlot {
  private released = false;

  constructor(
    private readonly store: LimitStore,
    private readonly logger: Logger,
    readonly key: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /**
   * Gives the slot back. A failure (the store unreachable) is logged, never thrown: the caller's stream or
   * reply has ended either way, and the slot frees itself when its expiry passes, so the user is locked out
   * for at most `ttlMs`.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.store.release(this.key, this.holder);
    } catch (error) {
      this.logger.warn(
        { slot: this.key, holder: this.holder, expiresInMs: this.ttlMs, err: error },
        "could not release a limit slot; it frees itself when it expires",
      );
    }
  }
}
