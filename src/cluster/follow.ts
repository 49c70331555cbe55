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
interface CatchUp {
  events: RunEvent[];
  retryInMs: number | null;
  gone: boolean;
}

/**
 * Follows a reply running on another instance. Live events come from the pub/sub channel (subscribed
 * first, so nothing published during the catch-up is missed); the first catch-up, and any later one after a
 * gap in seq, a change of connection or a quiet period, reads the shared history. When the history no longer holds every event
 * after the client's position, the saved reply (whose text and `lastSeq` are written together) stands in as
 * a `MessageSnapshot`, as soon as it covers the gap. The stream ends after `MessageCompleted`, when the
 * reply no longer exists, or when `signal` aborts.
 */
export function followReply(
  source: FollowSource,
  timings: FollowTimings,
  messageId: string,
  afterSeq: number,
  signal: AbortSignal,
): AsyncIterable<RunEvent> {
  return new Repeater<RunEvent>(async (push, stop) => {
    const inbox: RunEvent[] = [];
    let wake = () => {};
    let resync = true;
    let stopped = false;
    const subscription = source.subscribe(messageId, (event) => {
      inbox.push(event);
      wake();
    });
    const offConnectionChange = source.onConnectionChange(() => {
      resync = true;
      wake();
    });
    const onAbort = () => stop();
    signal.addEventListener("abort", onAbort, { once: true });
    void stop.then(() => {
      stopped = true;
      wake();
    });
    let last = afterSeq;
    /** Delivers an event unless already delivered; the final one always goes. True when it ended the stream. */
    const deliver = async (event: RunEvent) => {
      if (event.seq <= last && !isFinal(event)) return false;
      last = Math.max(last, event.seq);
      await push(event);
      return isFinal(event);
    };
    try {
      // Bounded: while Redis is away the SUBSCRIBE waits for the reconnection, and the database answers meanwhile.
      await Promise.race([subscription.ready, sleep(1_000)]);
      let retryInMs: number | null = null;
      let initial = true;
      while (!stopped) {
        if (resync) {
          resync = false;
          const found = await catchUp(source, timings, messageId, last, initial);
          initial = false;
          if (found.gone) return;
          for (const event of found.events) if (await deliver(event)) return;
          retryInMs = found.retryInMs;
        }
        while (inbox.length > 0 && !resync) {
          const event = inbox.shift() as RunEvent;
          // A live event past a hole: some were missed (Redis dropped them); read them back first.
          if (event.seq > last + 1 && !isFinal(event)) {
            inbox.unshift(event);
            resync = true;
          } else if (await deliver(event)) return;
        }
        if (resync || stopped) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            resync = true;
            resolve();
          }, retryInMs ?? timings.idleCheckMs);
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

async function catchUp(
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
