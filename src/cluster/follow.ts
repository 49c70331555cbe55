import { Repeater } from "graphql-yoga";
import { isFinal, type MessageState, type RunEvent } from "../agent/runs/events.js";
import type { ChannelSubscription } from "./fanout.js";

/** Where a follower reads a reply running on another instance. */
export interface FollowSource {
  /** Live events of the reply, as they are published (at most once: some may be missed). */
  subscribe(messageId: string, listener: (event: RunEvent) => void): ChannelSubscription;
  /** Calls `listener` when live delivery stops or resumes (events may have been missed); returns its removal. */
  onConnectionChange(listener: () => void): () => void;
  /** The held events after `afterSeq`, oldest first; rejects while the history is unreachable. */
  read(messageId: string, afterSeq: number): Promise<RunEvent[]>;
  /** The reply as saved in the database, or null when it no longer exists. */
  load(messageId: string): Promise<MessageState | null>;
}

/** How long a follower waits, in each situation, before it checks the history and the database again. */
export interface FollowTimings {
  /** Events are missing and the saved reply does not cover them yet: wait for the next batch flush. */
  gapRetryMs: number;
  /** The history is unreachable (Redis is away): the saved reply is polled for progress and its end. */
  outagePollMs: number;
  /** Nothing arrived for this long: check, in case the end was published while no one listened. */
  idleCheckMs: number;
}

/** What a catch-up found: events to deliver, and when to look again (null: wait for live events). */
export interface CatchUp {
  events: RunEvent[];
  retryInMs: number | null;
  /** The reply no longer exists: the stream ends with nothing more. */
  gone: boolean;
  /** The client's position is beyond the reply's last event: `events` start over with a snapshot. */
  restart?: boolean;
}

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
  private ended = false;
  private retryInMs: number | null = null;

  constructor(private last: number) {}

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

  /** A live event arrived; it is delivered by the next {@link drain}. */
  receive(event: RunEvent): void {
    if (!this.ended) this.inbox.push(event);
  }

  /** Live delivery stopped or resumed, or the wait ran out: events may have been missed, read them back. */
  recheck(): void {
    if (!this.ended) this.resync = true;
  }

  /** Starts a catch-up: where to read from, and whether it is the first (a finished reply then answers with its end). */
  beginCatchUp(): { afterSeq: number; initial: boolean } {
    const initial = this.initial;
    this.resync = false;
    this.initial = false;
    return { afterSeq: this.last, initial };
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
          const { afterSeq: from, initial } = machine.beginCatchUp();
          await deliver(machine.caughtUp(await catchUp(source, timings, messageId, from, initial)));
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

/** Reads what was missed after `last`: the held events, else the saved reply as a snapshot (or its end). */
export async function catchUp(
  source: FollowSource,
  timings: FollowTimings,
  messageId: string,
  last: number,
  initial: boolean,
): Promise<CatchUp> {
  let held: RunEvent[] | null;
  try {
    held = await source.read(messageId, last);
  } catch {
    held = null; // the history is unreachable: the database alone answers
  }
  // A reply that had already ended answers with its final event alone, as a finished message does.
  const final = initial ? held?.find(isFinal) : undefined;
  if (final) return { events: [final], retryInMs: null, gone: false };
  const run = held ? contiguousFrom(held, last + 1) : [];
  if (run.length > 0) {
    // Exact events; if a hole follows them, the next catch-up deals with it.
    return { events: run, retryInMs: run.length < (held?.length ?? 0) ? 0 : null, gone: false };
  }
  const saved = await source.load(messageId);
  if (!saved) return { events: [], retryInMs: null, gone: true };
  if (saved.status !== "STREAMING") {
    return {
      events: [{ type: "MessageCompleted", seq: saved.lastSeq, message: saved }],
      retryInMs: null,
      gone: false,
    };
  }
  if (initial && held !== null && run.length === 0 && saved.lastSeq < last) {
    // The client may stand ahead of the saved reply (it flushes in batches) or ahead of the reply itself,
    // at a seq the reply never reached: only the held tail tells. Ahead of the reply, it starts over from
    // the saved reply and the events held after it, as `RunFeed` does on the instance running it.
    const since = await source.read(messageId, saved.lastSeq).catch(() => []);
    if ((since.at(-1)?.seq ?? saved.lastSeq) < last) {
      const snapshot: RunEvent = { type: "MessageSnapshot", seq: saved.lastSeq, message: saved };
      const then = contiguousFrom(since, saved.lastSeq + 1);
      return { events: [snapshot, ...then], retryInMs: null, gone: false, restart: true };
    }
  }
  // The saved reply replaces what was missed when it reaches past the client's position and up to the oldest
  // event still held (all of them, when the history holds nothing: Redis lost it).
  const oldestHeld = held?.[0]?.seq;
  if (saved.lastSeq > last && (oldestHeld === undefined || saved.lastSeq >= oldestHeld - 1)) {
    const after = (held ?? []).filter((e) => e.seq > saved.lastSeq);
    const then = contiguousFrom(after, saved.lastSeq + 1);
    const snapshot: RunEvent = { type: "MessageSnapshot", seq: saved.lastSeq, message: saved };
    const again = held === null ? timings.outagePollMs : then.length < after.length ? 0 : null;
    return { events: [snapshot, ...then], retryInMs: again, gone: false };
  }
  // Nothing to deliver yet: poll while the history is unreachable, wait for the next flush to cover a hole,
  // or, when nothing was missed, just wait for live events.
  const retryInMs = held === null ? timings.outagePollMs : held.length > 0 ? timings.gapRetryMs : null;
  return { events: [], retryInMs, gone: false };
}

/** The events of `events` numbered `from`, `from + 1`, ... without a hole. */
function contiguousFrom(events: RunEvent[], from: number): RunEvent[] {
  const run: RunEvent[] = [];
  for (const event of events) {
    if (event.seq !== from + run.length) break;
    run.push(event);
  }
  return run;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
