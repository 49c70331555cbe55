import type { RunListener } from "./channel.js";
import { isFinal, type RunEvent } from "./events.js";
import type { Run } from "./run.js";

/** What a feed needs of a run: its events (and end), and the reply as it stands. */
export type FeedSource = Pick<Run, "channel" | "snapshot">;

/** Events a stream may fall behind its reply before what it missed is replaced by a snapshot. */
export const FEED_LAG_LIMIT = 1_000;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * One stream's view of a reply running in this process: the events after `afterSeq` (replayed from the
 * run's buffer, or a `MessageSnapshot` when they have left it or `afterSeq` is beyond the reply's last
 * event), then live events until `MessageCompleted`,
 * without gap or duplicate; a run that pauses for approval ends the feed without it (after its last events).
 * Events wait here until the client reads them; a client more than
 * {@link FEED_LAG_LIMIT} events behind gets one snapshot instead, so a stalled reader costs bounded memory.
 * It ends when the request's signal aborts or the reader returns, without waiting for the next event.
 */
export class RunFeed implements AsyncIterableIterator<RunEvent>, RunListener {
  private queue: RunEvent[] = [];
  private head = 0;
  private last: number;
  /** The reader fell too far behind: the next read builds a snapshot. */
  private lagged = false;
  private readAny = false;
  private ended = false;
  private closed = false;
  private waiting: ((result: IteratorResult<RunEvent>) => void) | null = null;
  private readonly onAbort = () => this.close();

  constructor(
    private readonly run: FeedSource,
    afterSeq: number,
    private readonly signal: AbortSignal,
    /** Called once the reader comes back after its first event (or the feed closes). */
    private onFirstHandedOn: () => void = () => {},
  ) {
    // A seq the reply has not reached names no point in it (a client that counted another reply, or made
    // one up): it starts over from a snapshot, as one that fell out of the buffer does.
    const ahead = afterSeq > run.channel.lastSeq;
    this.last = ahead ? -1 : afterSeq;
    run.channel.subscribe(this);
    const newest = run.channel.last;
    // A run that has just finished answers like a finished message: its last event alone.
    if (newest && isFinal(newest)) this.offer(newest, true);
    else
      for (const event of (ahead ? null : run.channel.since(afterSeq)) ?? [run.snapshot()]) this.offer(event);
    signal.addEventListener("abort", this.onAbort, { once: true });
    if (signal.aborted) this.close();
    else if (run.channel.closed) this.onRunEnded();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RunEvent>> {
    // Asked again: the first event has been handed on towards the client.
    if (this.readAny) this.firstHandedOn();
    const event = this.take();
    if (event) return Promise.resolve(this.read(event));
    if (this.ended || this.closed) {
      this.close();
      return Promise.resolve(DONE);
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<RunEvent>> {
    this.close();
    return Promise.resolve(DONE);
  }

  onRunEvent(event: RunEvent): void {
    this.offer(event);
  }

  /** Ended without `MessageCompleted`, the run paused: what it emitted is read first, then the feed ends. */
  onRunEnded(): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    // Events not yet handed on are read first (they are due this turn); a reader with none left is done.
    if (this.waiting && !this.lagged && this.head >= this.queue.length) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(DONE);
    }
  }

  private offer(event: RunEvent, force = false): void {
    if (this.closed || this.ended || (event.seq <= this.last && !force)) return;
    this.last = Math.max(this.last, event.seq);
    if (isFinal(event)) {
      this.ended = true;
      this.run.channel.unsubscribe(this);
      // The final event carries the whole message: it replaces anything the reader had fallen behind on.
      if (this.lagged) {
        this.lagged = false;
        this.queue = [];
        this.head = 0;
      }
    } else if (this.lagged) {
      return; // covered by the snapshot the next read builds
    }
    this.queue.push(event);
    if (this.queue.length - this.head > FEED_LAG_LIMIT && !this.ended) {
      this.lagged = true;
      this.queue = [];
      this.head = 0;
    }
    if (this.waiting) handOnThisTurn(this);
  }

  /** Gives a waiting reader what arrived in this turn of the event loop (see {@link handOnThisTurn}). */
  handOn(): void {
    const resolve = this.waiting;
    if (!resolve) return;
    const event = this.take();
    if (!event) return;
    this.waiting = null;
    resolve(this.read(event));
  }

  private take(): RunEvent | undefined {
    if (this.lagged) {
      // Built at read time, not when the reader fell behind: the run's text then matches its last seq.
      this.lagged = false;
      const snapshot = this.run.snapshot();
      this.last = snapshot.seq;
      return snapshot;
    }
    if (this.head >= this.queue.length) return undefined;
    let event = this.queue[this.head++];
    // Text the reader has not taken yet goes on as one event: one execution and one write instead of one
    // per model chunk; its seq is the last merged one, so resuming after it is exact (CONTRACT: seq may skip).
    while (event && isDelta(event)) {
      const next = this.queue[this.head];
      if (!next || next.type !== event.type || !isDelta(next) || next.messageId !== event.messageId) break;
      event = { ...event, seq: next.seq, delta: event.delta + next.delta };
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return event;
  }

  private read(event: RunEvent): IteratorYieldResult<RunEvent> {
    this.readAny = true;
    return { done: false, value: event };
  }

  private firstHandedOn(): void {
    this.onFirstHandedOn();
    this.onFirstHandedOn = () => {};
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.run.channel.unsubscribe(this);
    this.signal.removeEventListener("abort", this.onAbort);
    this.firstHandedOn();
    this.queue = [];
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(DONE);
  }
}

type DeltaEvent = Extract<RunEvent, { type: "TextDelta" | "ReasoningDelta" }>;

function isDelta(event: RunEvent): event is DeltaEvent {
  return event.type === "TextDelta" || event.type === "ReasoningDelta";
}

/**
 * Feeds whose reader waits and has events, handed them together rather than one event at a time: the
 * model's chunks that one read of its socket carries reach a feed one after another, and reach the reader
 * merged (one event, one execution, one write). A run hands them on as soon as it has taken the read's last
 * chunk ({@link handOnNow}, called by the model stream); anything else a run emits waits for `setImmediate`,
 * after the turn's I/O callbacks and their promise jobs. Waiting for that alone made every chunk wait for
 * the whole turn: under a burst of sends, for every send's work that this turn of the loop ran after it
 * (measured: chunks 12-25 ms late in the first second of 200 replies started at once).
 */
const due = new Set<RunFeed>();
let turnEndScheduled = false;

function handOnThisTurn(feed: RunFeed): void {
  due.add(feed);
  if (turnEndScheduled) return;
  turnEndScheduled = true;
  setImmediate(handOnAtTurnEnd);
}

function handOnAtTurnEnd(): void {
  turnEndScheduled = false;
  handOnNow();
}

/** Hands every feed that is due its events now (see {@link due}). */
export function handOnNow(): void {
  for (const feed of due) {
    due.delete(feed);
    feed.handOn();
  }
}
