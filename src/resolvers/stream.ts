import { Repeater } from "graphql-yoga";
import { isFinal, type MessageState, type RunEvent } from "../agent/events.js";
import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import { BadUserInputError, NotFoundError } from "../errors.js";
import type { Prisma } from "../generated/prisma/client.js";
import { parseGlobalId } from "../ids.js";

/**
 * The events of a reply after `afterSeq`, without gap or duplicate: replayed from the run's buffer when it
 * still holds them, else a `MessageSnapshot` of the reply so far; then live events until
 * `MessageCompleted`. A finished reply answers `MessageCompleted` at once. The stream ends when the client
 * goes away (request signal) or stops reading, without waiting for the next event. With several instances,
 * a reply running on another one is followed through the run network.
 */
export function streamReply(
  ctx: Context,
  messageId: string,
  afterSeq: number,
  onFirstDelivered?: () => void,
): AsyncIterable<RunEvent> {
  const { network } = ctx.runs;
  if (network && !ctx.runs.get(messageId)) return network.follow(messageId, afterSeq, ctx.request.signal);
  return new Repeater<RunEvent>(async (push, stop) => {
    const live = ctx.pubsub.subscribe("run:event", messageId)[Symbol.asyncIterator]();
    // The pub/sub's repeater attaches its listener on the first next(): ask for it before reading the
    // buffer, so nothing published in between is lost (duplicates are dropped by seq below).
    let pending = live.next();
    const onAbort = () => stop();
    ctx.request.signal.addEventListener("abort", onAbort, { once: true });
    void stop.then(() => live.return?.());
    let last = afterSeq;
    const deliver = async (event: RunEvent, force = false) => {
      if (event.seq <= last && !force) return false;
      last = Math.max(last, event.seq);
      await push(event);
      onFirstDelivered?.();
      return isFinal(event);
    };
    try {
      for (const event of await initialEvents(ctx, messageId, afterSeq)) {
        if (await deliver(event, isFinal(event))) return;
      }
      for (;;) {
        const next = await pending;
        if (next.done || (await deliver(next.value))) return;
        pending = live.next();
      }
    } finally {
      onFirstDelivered?.();
      ctx.request.signal.removeEventListener("abort", onAbort);
      stop();
    }
  });
}

async function initialEvents(ctx: Context, messageId: string, afterSeq: number): Promise<RunEvent[]> {
  const run = ctx.runs.get(messageId);
  if (run) {
    const last = run.channel.last;
    // A run that has just finished answers like a finished message: its last event alone.
    if (last && isFinal(last)) return [last];
    return run.channel.since(afterSeq) ?? [run.snapshot()];
  }
  const message = await ctx.prisma.message.findUnique({
    where: { id: messageId },
    include: { toolCalls: { orderBy: { position: "asc" } } },
  });
  if (!message) return [];
  if (message.status !== "STREAMING") return [{ type: "MessageCompleted", seq: message.lastSeq, message }];
  // Running, but not here: the saved state, then whatever the run publishes.
  return afterSeq >= message.lastSeq ? [] : [{ type: "MessageSnapshot", seq: message.lastSeq, message }];
}

/** `messageStream`: attach to one of the viewer's assistant replies, resuming after `afterSeq`. */
export async function resumeStream(ctx: Context, globalId: string, afterSeq: number | null | undefined) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  if (afterSeq != null && afterSeq < 0)
    throw new BadUserInputError('"afterSeq" must not be negative', "afterSeq");
  const message = await ctx.prisma.message.findFirst({
    where: { id, ownerId: viewer.id, role: "ASSISTANT" },
    select: { id: true },
  });
  if (!message) throw new NotFoundError("Message");
  const lease = await ctx.streams.reserve(viewer.id);
  return ctx.streams.serve(lease, streamReply(ctx, id, afterSeq ?? 0), ctx.request.signal);
}

/**
 * `stopGeneration`: stops one of the viewer's replies, on whichever instance runs it; a finished reply is
 * returned as it is.
 */
export async function stopGeneration(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  const owned = await ctx.prisma.message.findFirst({
    where: { id, ownerId: viewer.id },
    select: { id: true },
  });
  if (!owned) throw new NotFoundError("Message");
  await ctx.runs.stop(id);
  return ctx.prisma.message.findUniqueOrThrow({ where: { id } });
}

/**
 * The message an event carries, loaded with the selection the client asked for (relations included), with
 * the event's own state winning: a snapshot's text must match the deltas that follow it, not whatever was
 * saved since. A message deleted meanwhile (its conversation was) answers with the event's state alone.
 */
export async function eventMessage(
  ctx: Context,
  state: MessageState,
  query: { include?: Prisma.MessageInclude; select?: Prisma.MessageSelect },
) {
  const row = await ctx.prisma.message.findUnique({ ...query, where: { id: state.id } });
  return row ? { ...row, ...state } : state;
}
