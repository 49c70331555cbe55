import { Repeater } from "graphql-yoga";
import { isFinal, type RunEvent } from "../agent/runs/events.js";
import { FEED_LAG_LIMIT } from "../agent/runs/feed.js";
import {
  type CatchUp,
  catchUp,
  type FollowSource,
  type FollowTimings,
  snapshotAfterLag,
} from "./catch-up.js";

/**
 * Where a follower stands: `catch-up` must read the history (first, after a hole in the live events, a
 * change of connection or a quiet period), `live` delivers live events as they come, `ended` is done.
 */
export type FollowPhase = "catch-up" | "live" | "ended";

/**
 * A follower's state, with no I/O and no timers, so every transition can be tested alone: the driver
 * ({@link followReply}) feeds it live events, catch-up results, timer and connection signals, and delivers
 * what it returns. `position` is the last seq delivered; an event at or below it is dropped, except the
 * final one, which always goes and ends the stream.
 */
export class FollowMachine {
  private readonly inbox: RunEvent[] = [];
  private resync = true;
  private initial = true;
  /** The reader fell more than `lagLimit` events behind: the inbox was dropped, a snapshot replaces it. */
  private lagged = false;
  private ended = false;
  private retryInMs: number | null = null;

  constructor(
    private last: number,
    private readonly lagLimit = FEED_LAG_LIMIT,
  ) {}

  get phase(): FollowPhase {
    return this.ended ? "ended" : this.resync ? "catch-up" : "live";
  }

  /** The seq of the last event delivered (or the client's `afterSeq`). */
  get position(): number {
    return this.last;
  }

  /** How long to wait for live events before checking again. */
  waitMs(idleCheckMs: number): number {
    return this.retryInMs ?? idleCheckMs;
  }

  /**
   * A live event arrived; it is delivered by the next {@link drain}. A reader that lets more than
   * `lagLimit` wait (it reads slower than the reply is written) costs no more: they are dropped and the
   * next catch-up sends the saved reply as a snapshot, as a lagging stream on the reply's own instance gets.
   */
  receive(event: RunEvent): void {
    if (this.ended) return;
    this.inbox.push(event);
    if (this.inbox.length > this.lagLimit) {
      this.inbox.length = 0;
      this.lagged = true;
      this.resync = true;
    }
  }

  /** Live delivery stopped or resumed, or the wait ran out: events may have been missed, read them back. */
  recheck(): void {
    if (!this.ended) this.resync = true;
  }

  /**
   * Starts a catch-up: where to read from, whether it is the first (a finished reply then answers with its
   * end), and whether the reader lagged (the saved reply then stands in for what it missed).
   */
  beginCatchUp(): { afterSeq: number; initial: boolean; lagged: boolean } {
    const { initial, lagged } = this;
    this.resync = false;
    this.initial = false;
    this.lagged = false;
    return { afterSeq: this.last, initial, lagged };
  }

  /** A catch-up's result; returns what to deliver. A recheck asked for meanwhile stays pending. */
  caughtUp(found: CatchUp): RunEvent[] {
    if (found.gone) {
      this.end();
      return [];
    }
    this.retryInMs = found.retryInMs;
    if (found.restart) this.last = -1;
    const out: RunEvent[] = [];
    for (const event of found.events) if (this.take(event, out)) break;
    return out;
  }

  /** The live events that can be delivered now; a hole before the next one asks for a catch-up instead. */
  drain(): RunEvent[] {
    const out: RunEvent[] = [];
    while (this.phase === "live" && this.inbox.length > 0) {
      const event = this.inbox[0] as RunEvent;
      // A live event past a hole: some were missed (Redis dropped them); read them back first.
      if (event.seq > this.last + 1 && !isFinal(event)) {
        this.resync = true;
        break;
      }
      this.inbox.shift();
      if (this.take(event, out)) break;
    }
    return out;
  }

  /** Adds an event to `out` unless already delivered; true when it ended the stream. */
  private take(event: RunEvent, out: RunEvent[]): boolean {
    if (event.seq <= this.last && !isFinal(event)) return false;
    this.last = Math.max(this.last, event.seq);
    out.push(event);
    if (isFinal(event)) this.end();
    return this.ended;
  }

  private end(): void {
    this.ended = true;
    this.inbox.length = 0;
  }
}

/**
 * Follows a reply running on another instance. Live events come from the pub/sub channel (subscribed
 * first, so nothing published during the catch-up is missed); the first catch-up, and any later one after a
 * gap in seq, a change of connection or a quiet period, reads the shared history. When the history no longer
 * holds every event after the client's position, the saved reply (whose text and `lastSeq` are written
 * together) stands in as a `MessageSnapshot`, as soon as it covers the gap. The stream ends after
 * `MessageCompleted`, when the reply no longer exists, or when `signal` aborts. `onAttached` is called once,
 * when the subscription is confirmed and the first catch-up delivered.
 */
export function followReply(
  source: FollowSource,
  timings: FollowTimings,
  messageId: string,
  afterSeq: number,
  signal: AbortSignal,
  onAttached?: () => void,
): AsyncIterable<RunEvent> {
  return new Repeater<RunEvent>(async (push, stop) => {
    const machine = new FollowMachine(afterSeq);
    let wake = () => {};
    let stopped = false;
    const subscription = source.subscribe(messageId, (event) => {
      machine.receive(event);
      wake();
    });
    // Attached: live events reach this follower (Redis confirmed the subscription) and what came before
    // was read back. Only then can nothing published later be missed; a follower resumed at the newest
    // event receives nothing to show it, so this is the one sign.
    let subscribed = false;
    let caughtUp = false;
    let announced = false;
    const announce = () => {
      if (announced || !subscribed || !caughtUp || stopped) return;
      announced = true;
      onAttached?.();
    };
    void subscription.ready.then((confirmed) => {
      subscribed = confirmed;
      announce();
    });
    const offConnectionChange = source.onConnectionChange(() => {
      machine.recheck();
      wake();
    });
    const onAbort = () => stop();
    signal.addEventListener("abort", onAbort, { once: true });
    void stop.then(() => {
      stopped = true;
      wake();
    });
    const deliver = async (events: RunEvent[]) => {
      for (const event of events) await push(event);
    };
    try {
      // Bounded: while Redis is away the SUBSCRIBE waits for the reconnection, and the database answers meanwhile.
      await Promise.race([subscription.ready, sleep(1_000)]);
      while (!stopped && machine.phase !== "ended") {
        if (machine.phase === "catch-up") {
          const { afterSeq: from, initial, lagged } = machine.beginCatchUp();
          const found = lagged
            ? ((await snapshotAfterLag(source, timings, messageId, from)) ??
              (await catchUp(source, timings, messageId, from, initial)))
            : await catchUp(source, timings, messageId, from, initial);
          await deliver(machine.caughtUp(found));
          caughtUp = true;
          announce();
          continue;
        }
        const live = machine.drain();
        if (live.length > 0) {
          await deliver(live);
          continue;
        }
        if (machine.phase !== "live") continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            machine.recheck();
            resolve();
          }, machine.waitMs(timings.idleCheckMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {};
      }
    } finally {
      subscription.close();
      offConnectionChange();
      signal.removeEventListener("abort", onAbort);
      stop();
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
