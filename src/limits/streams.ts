import type { Config } from "../core/config.js";
import { RateLimitedError } from "../core/errors.js";
import { newUuid } from "../core/ids.js";
import { Sweep } from "../core/sweep.js";
import type { Logger } from "../observability/logger.js";
import type { OnLimited } from "./rate-limiter.js";
import { HeldSlot } from "./slots.js";
import type { LimitStore } from "./store.js";

/** Retry hint when all of a user's stream slots are taken: streams end at unknown times. */
const STREAM_RETRY_SECONDS = 5;
/** A slot outlives its stream's longest life by this much, in case the instance dies holding it. */
const SLOT_MARGIN_MS = 60_000;

/** One reserved stream slot; give it to {@link OpenStreams.serve} or release it. */
export interface StreamLease {
  readonly userId: string;
  readonly id: string;
  /** Gives the slot back; never rejects (a failure is logged and the slot expires). */
  release(): Promise<void>;
}

/**
 * The subscription streams open on this instance: at most `perUser` per user (counted in the shared
 * store, so across instances), each ended after `idleTimeoutMs` without an event or `maxDurationMs` in all,
 * and all of them ended cleanly at shutdown. A stream ended by a limit or a shutdown simply completes: its
 * last event is not `MessageCompleted`, and the client resumes with `messageStream(afterSeq:)`.
 */
export class OpenStreams {
  /**
   * The open streams, their time limits checked by one timer rather than two per stream re-armed on every
   * event: a limit ends a stream up to two check intervals late, never early.
   */
  private readonly open: Sweep<LimitedStream<unknown>>;

  constructor(
    private readonly store: LimitStore,
    private readonly settings: Config["streams"],
    private readonly logger: Logger,
    private readonly onLimited: OnLimited = () => {},
  ) {
    const shorter = Math.min(settings.idleTimeoutMs, settings.maxDurationMs);
    this.open = Sweep.forDeadlines(shorter, (stream) => stream.checkLimits());
  }

  /** Streams open now on this instance. */
  get size(): number {
    return this.open.size;
  }

  /** Reserves one of the user's stream slots, before the subscription writes or starts anything. */
  async reserve(userId: string): Promise<StreamLease> {
    const id = newUuid();
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
    return new SlotLease(userId, id, key, ttl, this.store, this.logger);
  }

  /**
   * Serves `source` under the lease's limits; the slot is released when the stream ends, however it ends:
   * its last value handed on (a reader that then drops the stream without closing it holds nothing), a
   * limit, or the request going away (also before the stream was ever read).
   */
  serve<T>(
    lease: StreamLease,
    source: AsyncIterable<T>,
    signal?: AbortSignal,
    /** The stream's last value: once it is handed on, the stream ends without waiting for another read. */
    isLast: (value: T) => boolean = () => false,
    /**
     * Whether a quiet stream ends after `idleTimeoutMs`: not for streams that are quiet by nature (a
     * user's `viewerEvents`), which the transports' keep-alives hold open and `maxDurationMs` still ends.
     */
    endWhenIdle = true,
  ): AsyncIterableIterator<T> {
    const stream: LimitedStream<T> = new LimitedStream(
      source[Symbol.asyncIterator](),
      this.open,
      lease,
      endWhenIdle ? this.settings.idleTimeoutMs : null,
      this.settings.maxDurationMs,
      isLast,
    );
    this.open.add(stream as LimitedStream<unknown>);
    // A client gone ends its stream (and frees the slot) even when nothing reads the stream anymore.
    signal?.addEventListener("abort", stream.stop, { once: true });
    if (signal?.aborted) stream.stop();
    return stream;
  }

  /** Ends every open stream (at shutdown) and resolves once all of them have finished. */
  async closeAll(): Promise<void> {
    const open = this.open.list();
    for (const stream of open) stream.stop();
    await Promise.all(open.map((stream) => stream.ended()));
  }
}

/** A stream slot: the store's slot, and who holds it. */
class SlotLease extends HeldSlot implements StreamLease {
  constructor(
    readonly userId: string,
    readonly id: string,
    key: string,
    ttlMs: number,
    store: LimitStore,
    logger: Logger,
  ) {
    super(store, logger, key, id, ttlMs);
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A stream ended after `idleTimeoutMs` without an event, after `maxDurationMs` in all, or by `stop()`,
 * whichever comes first, even while a read is waiting. Its source is returned and `onEnd` runs once, however
 * it ends. (A plain wrapper rather than a Repeater: it sits on every event's path.)
 */
class LimitedStream<T> implements AsyncIterableIterator<T> {
  private finished = false;
  /** The stream has ended and its slot is released. */
  private released = false;
  /** Who waits for that (see {@link ended}): made when first asked for, at shutdown. */
  private releaseWaiters: (() => void)[] | null = null;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failing: (error: unknown) => void = () => {};
  /** When the stream last handed on an event (or began), by the clock of the checks: up to one interval early. */
  private lastEventAt: number;
  private readonly endsAt: number;

  constructor(
    private readonly source: AsyncIterator<T>,
    /** The open streams (this one leaves them when it ends), whose time is that of the last check. */
    private readonly open: Pick<Sweep<LimitedStream<unknown>>, "now" | "since" | "delete">,
    private readonly lease: StreamLease,
    private readonly idleTimeoutMs: number | null,
    maxDurationMs: number,
    private readonly isLast: (value: T) => boolean,
  ) {
    this.lastEventAt = Date.now();
    this.endsAt = this.lastEventAt + maxDurationMs;
  }

  /** Stops the stream once it has been quiet for `idleTimeoutMs`, or has lasted `maxDurationMs`. */
  checkLimits(): void {
    const quiet = this.open.since(this.lastEventAt);
    if (this.open.now >= this.endsAt || (this.idleTimeoutMs !== null && quiet >= this.idleTimeoutMs))
      this.stop();
  }

  /** Resolves once the stream has ended and its slot is released. */
  ended(): Promise<void> {
    if (this.released) return Promise.resolve();
    return new Promise((resolve) => {
      this.releaseWaiters ??= [];
      this.releaseWaiters.push(resolve);
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.resolve(DONE);
    // One promise per event, its handlers made once per stream: this sits on every event's path.
    const read = new Promise<IteratorResult<T>>(this.wait);
    this.source.next().then(this.onResult, this.onError);
    return read;
  }

  private readonly wait = (
    resolve: (result: IteratorResult<T>) => void,
    reject: (error: unknown) => void,
  ) => {
    this.waiting = resolve;
    this.failing = reject;
  };

  // A result that arrives after stop() finds no read waiting (and the stream finished): it is dropped.
  private readonly onResult = (result: IteratorResult<T>) => {
    const resolve = this.waiting;
    if (!resolve) return;
    this.waiting = null;
    if (result.done) {
      void this.end();
      resolve(DONE);
      return;
    }
    this.lastEventAt = this.open.now;
    if (this.isLast(result.value)) void this.end();
    resolve(result);
  };

  private readonly onError = (error: unknown) => {
    if (!this.waiting) return;
    this.waiting = null;
    void this.end();
    this.failing(error);
  };

  async return(): Promise<IteratorResult<T>> {
    await this.end();
    return DONE;
  }

  /** Ends the stream now; a read waiting for the next event completes at once. */
  readonly stop = () => {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(DONE);
    void this.end();
  };

  private async end(): Promise<void> {
    if (this.finished) return this.ended();
    this.finished = true;
    try {
      await this.source.return?.();
    } catch {
      // the source failed while closing: the stream is over either way
    }
    this.open.delete(this as LimitedStream<unknown>);
    await this.lease.release();
    this.released = true;
    for (const resolve of this.releaseWaiters ?? []) resolve();
    this.releaseWaiters = null;
  }
}
