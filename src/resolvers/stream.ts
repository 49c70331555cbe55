import { Repeater } from "graphql-yoga";
import { isFinal, type RunEvent } from "../agent/events.js";
import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import { BadUserInputError, NotFoundError } from "../errors.js";
import { parseGlobalId } from "../ids.js";

/**
 * The events of a reply after `afterSeq`, without gap or duplicate: replayed from the run's buffer when it
 * still holds them, else a `MessageSnapshot` of the reply so far; then live events until
 * `MessageCompleted`. A finished reply answers `MessageCompleted` at once. The stream ends when the client
 * goes away (request signal) or stops reading, without waiting for the next event.
 */
export function streamReply(
  ctx: Context,
  messageId: string,
  afterSeq: number,
  onFirstDelivered?: () => void,
): AsyncIterable<RunEvent> {
  return new Repeater<RunEvent>(async (push, stop) => {
    const live = ctx.pubsub.subscribe("run:event", messageId);
    const onAbort = () => stop();
    ctx.request.signal.addEventListener("abort", onAbort, { once: true });
    void stop.then(() => live.return());
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
      for await (const event of live) {
        if (await deliver(event)) return;
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
    const events = run.channel.since(afterSeq) ?? [run.snapshot()];
    const last = run.channel.last;
    // Already past the end of a run that is just finishing: its last event is the answer.
    return events.length === 0 && last && isFinal(last) ? [last] : events;
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
  if (afterSeq != null && afterSeq < 0) throw new BadUserInputError('"afterSeq" must not be negative', "afterSeq");
  const message = await ctx.prisma.message.findFirst({
    where: { id, ownerId: viewer.id, role: "ASSISTANT" },
    select: { id: true },
  });
  if (!message) throw new NotFoundError("Message");
  return streamReply(ctx, id, afterSeq ?? 0);
}

/** `stopGeneration`: stops one of the viewer's replies; a finished reply is returned as it is. */
export async function stopGeneration(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  const owned = await ctx.prisma.message.findFirst({ where: { id, ownerId: viewer.id }, select: { id: true } });
  if (!owned) throw new NotFoundError("Message");
  await ctx.runs.stop(id);
  return ctx.prisma.message.findUniqueOrThrow({ where: { id } });
}
