import { randomUUID } from "node:crypto";
import { Repeater } from "graphql-yoga";
import type { Config } from "../config.js";
import { RateLimitedError } from "../errors.js";
import type { OnLimited } from "./rate-limiter.js";
import type { LimitStore } from "./store.js";

/** Retry hint when all of a user's stream slots are taken: streams end at unknown times. */
const STREAM_RETRY_SECONDS = 5;
/** A slot outlives its stream's longest life by this much, in case the instance dies holding it. */
const SLOT_MARGIN_MS = 60_000;

/** One reserved stream slot; give it to {@link OpenStreams.serve} or release it. */
export interface StreamLease {
  readonly userId: string;
  readonly id: string;
  release(): Promise<void>;
}

/**
 * The subscription streams open on this instance: at most `perUser` per user (counted in the shared
 * store, so across instances), each ended after `idleTimeoutMs` without an event or `maxDurationMs` in all,
 * and all of them ended cleanly at shutdown. A stream ended by a limit or a shutdown simply completes: its
 * last event is not `MessageCompleted`, and the client resumes with `messageStream(afterSeq:)`.
 */
export class OpenStreams {
  private readonly stops = new Map<string, { stop: () => void; ended: Promise<void> }>();

  constructor(
    private readonly store: LimitStore,
    private readonly settings: Config["streams"],
    private readonly onLimited: OnLimited = () => {},
  ) {}

  /** Streams open now on this instance. */
  get size(): number {
    return this.stops.size;
  }

  /** Reserves one of the user's stream slots, before the subscription writes or starts anything. */
  async reserve(userId: string): Promise<StreamLease> {
    const id = randomUUID();
    const key = `streams:${userId}`;
    const ttl = this.settings.maxDurationMs + SLOT_MARGIN_MS;
    const grant = await this.store.acquire(key, id, this.settings.perUser, ttl);
    if (!grant.acquired) {
      this.onLimited("streams");
      throw new RateLimitedError(
        "streams",
        `Too many open streams: at most ${this.settings.perUser} per user; close one first`,
        STREAM_RETRY_SECONDS,
      );
    }
    let released = false;
    return {
      userId,
      id,
      release: async () => {
        if (released) return;
        released = true;
        await this.store.release(key, id);
      },
    };
  }

  /**
   * Serves `source` under the lease's limits; the slot is released when the stream ends, however it ends,
   * or when the request goes away (also before the stream was ever read).
   */
  serve<T>(lease: StreamLease, source: AsyncIterable<T>, signal?: AbortSignal): AsyncIterable<T> {
    const { idleTimeoutMs, maxDurationMs } = this.settings;
    signal?.addEventListener("abort", () => void lease.release().catch(() => {}), { once: true });
    return new Repeater<T>(async (push, stop) => {
      let markEnded = () => {};
      const ended = new Promise<void>((resolve) => {
        markEnded = resolve;
      });
      this.stops.set(lease.id, { stop: () => stop(), ended });
      const iterator = source[Symbol.asyncIterator]();
      let idle = setTimeout(() => stop(), idleTimeoutMs);
      const total = setTimeout(() => stop(), maxDurationMs);
      const stopped = stop.then(() => null);
      try {
        for (;;) {
          const next = await Promise.race([iterator.next(), stopped]);
          if (next === null || next.done) break;
          clearTimeout(idle);
          idle = setTimeout(() => stop(), idleTimeoutMs);
          await push(next.value);
        }
      } finally {
        clearTimeout(idle);
        clearTimeout(total);
        stop();
        await iterator.return?.();
        this.stops.delete(lease.id);
        await lease.release().catch(() => {});
        markEnded();
      }
    });
  }

  /** Ends every open stream (at shutdown) and resolves once all of them have finished. */
  async closeAll(): Promise<void> {
    const open = [...this.stops.values()];
    for (const s of open) s.stop();
    await Promise.all(open.map((s) => s.ended));
  }
}
