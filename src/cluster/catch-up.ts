import { isFinal, isLiveReply, type MessageState, type RunEvent } from "../agent/runs/events.js";
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
  if (!saved || !isLiveReply(saved)) return endOf(saved);
  if (initial && held !== null && run.length === 0 && saved.lastSeq < last) {
    // The client may stand ahead of the saved reply (it flushes in batches) or ahead of the reply itself,
    // at a seq the reply never reached: only the held tail tells. Ahead of the reply, it starts over from
    // the saved reply and the events held after it, as `RunFeed` does on the instance running it.
    const since = await source.read(messageId, saved.lastSeq).catch(() => []);
    if ((since.at(-1)?.seq ?? saved.lastSeq) < last) {
      return { events: snapshotThen(saved, since), retryInMs: null, gone: false, restart: true };
    }
  }
  // The saved reply replaces what was missed when it reaches past the client's position and up to the oldest
  // event still held (all of them, when the history holds nothing: Redis lost it).
  const oldestHeld = held?.[0]?.seq;
  if (saved.lastSeq > last && (oldestHeld === undefined || saved.lastSeq >= oldestHeld - 1)) {
    const after = (held ?? []).filter((e) => e.seq > saved.lastSeq);
    const events = snapshotThen(saved, after);
    const again = held === null ? timings.outagePollMs : events.length - 1 < after.length ? 0 : null;
    return { events, retryInMs: again, gone: false };
  }
  // Nothing to deliver yet: poll while the history is unreachable, wait for the next flush to cover a hole,
  // or, when nothing was missed, just wait for live events.
  const retryInMs = held === null ? timings.outagePollMs : held.length > 0 ? timings.gapRetryMs : null;
  return { events: [], retryInMs, gone: false };
}

/**
 * What a reader that fell too far behind receives instead of the events it missed: the saved reply as a
 * `MessageSnapshot` (or its end), then the held events after it. Null when the saved reply does not reach
 * past the reader's position yet (the ordinary catch-up then reads the held events).
 */
export async function snapshotAfterLag(
  source: FollowSource,
  timings: FollowTimings,
  messageId: string,
  last: number,
): Promise<CatchUp | null> {
  const saved = await source.load(messageId);
  if (!saved || !isLiveReply(saved)) return endOf(saved);
  if (saved.lastSeq <= last) return null;
  let held: RunEvent[] | null;
  try {
    held = await source.read(messageId, saved.lastSeq);
  } catch {
    held = null; // the history is unreachable: the snapshot alone, and the database is polled
  }
  const events = snapshotThen(saved, held ?? []);
  const again = held === null ? timings.outagePollMs : events.length - 1 < held.length ? 0 : null;
  return { events, retryInMs: again, gone: false };
}

/** A reply that no longer streams, as a catch-up's answer: gone, or its saved end. */
function endOf(saved: MessageState | null): CatchUp {
  if (!saved) return { events: [], retryInMs: null, gone: true };
  return {
    events: [{ type: "MessageCompleted", seq: saved.lastSeq, message: saved }],
    retryInMs: null,
    gone: false,
  };
}

/** The saved reply as a `MessageSnapshot`, then the held events that follow it without a hole. */
function snapshotThen(saved: MessageState, held: RunEvent[]): RunEvent[] {
  const snapshot: RunEvent = { type: "MessageSnapshot", seq: saved.lastSeq, message: saved };
  return [snapshot, ...contiguousFrom(held, saved.lastSeq + 1)];
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
