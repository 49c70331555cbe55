import { isFinal, type MessageState, type RunEvent } from "../agent/runs/events.js";
import { RunFeed } from "../agent/runs/feed.js";
import type { Run } from "../agent/runs/run.js";
import { BadUserInputError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import {
  findMessage,
  findMessageWithToolCalls,
  getMessage,
  type MessageSelection,
  ownsMessage,
} from "../db/messages.js";
import type { StreamLease } from "../limits/streams.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

/**
 * Streams a reply's events to the client under the stream slot `lease` holds (see `OpenStreams.serve`):
 * the stream ends with `MessageCompleted`, a stream limit, or the client going away.
 */
export function serveReply(
  ctx: Context,
  lease: StreamLease,
  messageId: string,
  afterSeq: number,
  onFirstDelivered?: () => void,
) {
  return ctx.streams.serve(
    lease,
    replyEvents(ctx, messageId, afterSeq, onFirstDelivered),
    ctx.request.signal,
    isFinal,
  );
}

/** How often a stream attached to a reply that waits for approval looks at it again (besides being woken). */
const PAUSED_RECHECK_MS = 2_000;
/** Longest timer: a stream on a reply streaming elsewhere with no network waits to be woken. */
const NEVER_MS = 2_147_483_647;

/** One source of a reply's events, and whether its end without `MessageCompleted` means "look again". */
interface Source {
  events: AsyncIterator<RunEvent>;
  /** The reply paused, or may have resumed here: the stream goes on from the next source. */
  again(): boolean;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const AGAIN = () => true;
const NOT_AGAIN = () => false;

/**
 * The events of a reply after `afterSeq`, without gap or duplicate, until `MessageCompleted`: from the run
 * when it is running here (see {@link RunFeed}), through the run network when it runs on another instance,
 * else from the database, where a finished reply answers `MessageCompleted` at once. A reply that pauses for
 * approval keeps the stream open: it goes on with the run that resumes it, here or (through the network)
 * on any instance.
 */
export function replyEvents(
  ctx: Context,
  messageId: string,
  afterSeq: number,
  onFirstDelivered?: () => void,
): AsyncIterableIterator<RunEvent> {
  return new ReplyEvents(ctx, messageId, afterSeq, onFirstDelivered);
}

/**
 * {@link replyEvents}. A class whose `next` goes on in a promise's callback: an async `next` waiting for the
 * reply's next event, and an object of closures, kept a suspended frame and a copy of each method for every
 * open stream.
 */
class ReplyEvents implements AsyncIterableIterator<RunEvent> {
  private last: number;
  private finished = false;
  private closed = false;
  private previous: Run | undefined;
  private current: Source;

  constructor(
    private readonly ctx: Context,
    private readonly messageId: string,
    afterSeq: number,
    private onFirstDelivered: (() => void) | undefined,
  ) {
    this.last = afterSeq;
    this.current = this.open();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RunEvent>> {
    if (this.closed || this.finished) return Promise.resolve(DONE);
    return this.current.events.next().then(this.onResult);
  }

  async return(): Promise<IteratorResult<RunEvent>> {
    this.closed = true;
    await this.current.events.return?.();
    return DONE;
  }

  private readonly onResult = (
    result: IteratorResult<RunEvent>,
  ): IteratorResult<RunEvent> | Promise<IteratorResult<RunEvent>> => {
    if (!result.done) {
      this.last = result.value.seq;
      if (isFinal(result.value)) this.finished = true;
      return result;
    }
    if (this.closed || this.ctx.request.signal.aborted || !this.current.again()) return DONE;
    this.current = this.open();
    return this.next();
  };

  private open(): Source {
    const { ctx, messageId, last } = this;
    const signal = ctx.request.signal;
    const run = ctx.runs.get(messageId);
    // Told once: by the first source's first event handed on, or now, for a source that may have none.
    const onFirstDelivered = this.onFirstDelivered;
    this.onFirstDelivered = undefined;
    if (run && run !== this.previous) {
      this.previous = run;
      return { events: new RunFeed(run, last, signal, onFirstDelivered), again: AGAIN };
    }
    onFirstDelivered?.();
    const { network } = ctx.runs;
    if (network)
      return { events: network.follow(messageId, last, signal)[Symbol.asyncIterator](), again: NOT_AGAIN };
    return storedReply(ctx, messageId, last);
  }
}

/**
 * A reply no run of this process is writing: one that has ended answers `MessageCompleted`; one still
 * `STREAMING` (written elsewhere, with no run network to follow it) or waiting for approval answers its
 * saved state (when the client is not there already) and stays open, quiet, until a run of it starts here
 * (the stream then goes on from it), the client or a stream limit ends it, or (waiting) a while passes.
 */
function storedReply(ctx: Context, messageId: string, afterSeq: number): Source {
  const signal = ctx.request.signal;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let stored: Promise<{ events: RunEvent[]; wait: number | null }> | undefined;
  let waited = false;
  let woken: Promise<void> | undefined;
  const load = async () => {
    const message = await findMessageWithToolCalls(ctx.prisma, messageId);
    if (!message) return { events: [], wait: null };
    const { status } = message;
    if (status !== "STREAMING" && status !== "AWAITING_APPROVAL")
      return { events: [{ type: "MessageCompleted", seq: message.lastSeq, message } as const], wait: null };
    const events: RunEvent[] =
      afterSeq !== message.lastSeq ? [{ type: "MessageSnapshot", seq: message.lastSeq, message }] : [];
    return { events, wait: status === "STREAMING" ? NEVER_MS : PAUSED_RECHECK_MS };
  };
  const events: AsyncIterator<RunEvent> = {
    async next() {
      // Woken by a run starting here: registered before the read, so a start meanwhile is not missed.
      woken ??= ctx.runs.waitForRun(messageId, stop.signal, NEVER_MS);
      stored ??= load();
      const { events: pending, wait } = await stored;
      const event = pending.shift();
      if (stop.signal.aborted) return DONE;
      if (event) return { done: false, value: event };
      if (wait !== null) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise((resolve) => (timer = setTimeout(resolve, wait)))]);
        clearTimeout(timer);
        waited = !stop.signal.aborted;
      }
      stop.abort();
      signal.removeEventListener("abort", onAbort);
      return DONE;
    },
    async return() {
      stop.abort();
      signal.removeEventListener("abort", onAbort);
      return DONE;
    },
  };
  return { events, again: () => waited };
}

/** `messageStream`: attach to one of the viewer's assistant replies, resuming after `afterSeq`. */
export async function resumeStream(ctx: Context, globalId: string, afterSeq: number | null | undefined) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  if (afterSeq != null && afterSeq < 0)
    throw new BadUserInputError('"afterSeq" must not be negative', "afterSeq");
  if (!(await ownsMessage(ctx.prisma, viewer.id, id, "ASSISTANT"))) throw new NotFoundError("Message");
  const lease = await ctx.streams.reserve(viewer.id);
  return serveReply(ctx, lease, id, afterSeq ?? 0);
}

/**
 * `stopGeneration`: stops one of the viewer's replies, on whichever instance runs it; a finished reply is
 * returned as it is.
 */
export async function stopGeneration(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  if (!(await ownsMessage(ctx.prisma, viewer.id, id))) throw new NotFoundError("Message");
  await ctx.runs.stop(id);
  return getMessage(ctx.prisma, id);
}

/**
 * The message an event carries, with the event's own state winning: a snapshot's text must match the
 * deltas that follow it, not whatever was saved since. The event holds the whole row and its tool calls,
 * so the database is read only when the client's selection reaches further (the conversation); a message
 * deleted meanwhile (its conversation was) then answers with the event's state alone.
 */
export async function eventMessage(ctx: Context, state: MessageState, query: MessageSelection) {
  const reachesFurther =
    query.select !== undefined ||
    Object.keys(query.include ?? {}).some((relation) => relation !== "toolCalls");
  if (!reachesFurther) return state;
  const row = await findMessage(ctx.prisma, state.id, query);
  return row ? { ...row, ...state } : state;
}
