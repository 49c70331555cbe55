import type { Logger } from "../observability/logger.js";
import type { LimitStore } from "./store.js";

/** A slot taken in a {@link LimitStore}: where it is, who holds it, and how long it lives unreleased. */
export interface Slot {
  readonly key: string;
  readonly holder: string;
  readonly ttlMs: number;
}

/**
 * Gives a slot back. A failure (the store unreachable) is logged, never thrown: the caller's stream or
 * reply has ended either way, and the slot frees itself when its expiry passes, so the user is locked out
 * for at most `ttlMs`.
 */
export async function releaseSlot(store: LimitStore, logger: Logger, slot: Slot): Promise<void> {
  try {
    await store.release(slot.key, slot.holder);
  } catch (error) {
    logger.warn(
      { slot: slot.key, holder: slot.holder, expiresInMs: slot.ttlMs, err: error },
      "could not release a limit slot; it frees itself when it expires",
    );
  }
}

/**
 * A slot taken, given back once however many times it is released. A class rather than an object with a
 * closure over the slot: it lives as long as the stream or reply that holds it.
 */
export class HeldSlot implements Slot {
  private released = false;

  constructor(
    private readonly store: LimitStore,
    private readonly logger: Logger,
    readonly key: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await releaseSlot(this.store, this.logger, this);
  }
}
