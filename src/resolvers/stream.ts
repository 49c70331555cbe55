import { isFinal, type MessageState, type RunEvent } from "../agent/runs/events.js";
import { RunFeed } from "../agent/runs/feed.js";
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

/**
 * The events of a reply after `afterSeq`, without gap or duplicate, until `MessageCompleted`: from the run
 * when it is running here (see {@link RunFeed}), through the run network when it runs on another instance,
 * else from the database, where a finished reply answers `MessageCompleted` at once.
 */
export function replyEvents(
  ctx: Context,
  messageId: string,
  afterSeq: number,
  onFirstDelivered?: () => void,
): AsyncIterable<RunEvent> {
  const run = ctx.runs.get(messageId);
  if (run) return new RunFeed(run, afterSeq, ctx.request.signal, onFirstDelivered);
  const { network } = ctx.runs;
  if (network) return network.follow(messageId, afterSeq, ctx.request.signal);
  return storedReply(ctx, messageId, afterSeq);
}

/**
 * A reply no run of this process is writing: one that has ended answers `MessageCompleted`; one still
 * `STREAMING` (written elsewhere, with no run network to follow it) answers its saved state and stays open,
 * quiet, until the client or a stream limit ends it.
 */
function storedReply(ctx: Context, messageId: string, afterSeq: number): AsyncIterableIterator<RunEvent> {
  const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let stored: Promise<{ events: RunEvent[]; ended: boolean }> | undefined;
  let closed = false;
  let waiting: ((result: IteratorResult<RunEvent>) => void) | null = null;
  const load = async () => {
    const message = await findMessageWithToolCalls(ctx.prisma, messageId);
    if (!message) return { events: [], ended: true };
    if (message.status !== "STREAMING")
      return { events: [{ type: "MessageCompleted", seq: message.lastSeq, message } as const], ended: true };
    const events: RunEvent[] =
      afterSeq !== message.lastSeq ? [{ type: "MessageSnapshot", seq: message.lastSeq, message }] : [];
    return { events, ended: false };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      stored ??= load();
      const { events, ended } = await stored;
      const event = events.shift();
      if (closed) return DONE;
      if (event) return { done: false, value: event };
      if (ended) return DONE;
      return new Promise<IteratorResult<RunEvent>>((resolve) => {
        waiting = resolve;
      });
    },
    async return() {
      closed = true;
      waiting?.(DONE);
      return DONE;
    },
  };
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
