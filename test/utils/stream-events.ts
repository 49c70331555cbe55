import type { ResultOf } from "@graphql-typed-document-node/core";
import type { StreamEventFields } from "./operations.js";
import type { StreamResult } from "./sse.js";

/** One event as the tests' fragment selects it. */
export type StreamEvent = ResultOf<typeof StreamEventFields>;

/** The events of a list of subscription results; fails loudly on an error result. */
export function eventsOf(
  results: StreamResult<{ sendMessage?: StreamEvent; messageStream?: StreamEvent }>[],
) {
  return results.map((r) => {
    const event = r.data?.sendMessage ?? r.data?.messageStream;
    if (!event) throw new Error(`not an event: ${JSON.stringify(r)}`);
    return event;
  });
}

/** The reply text a client rebuilds from a stream: the last snapshot (if any) plus the deltas after it. */
export function replyText(events: StreamEvent[]): string {
  let text = "";
  for (const e of events) {
    if (e.__typename === "MessageSnapshot") text = e.message.content;
    if (e.__typename === "TextDelta") text += e.delta;
  }
  return text;
}

/** Whether an event ends the stream. */
export const isCompleted = (r: StreamResult<{ sendMessage?: StreamEvent; messageStream?: StreamEvent }>) =>
  (r.data?.sendMessage ?? r.data?.messageStream)?.__typename === "MessageCompleted";

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads a stream in the background: `seen` fills as events arrive; `done` resolves after MessageCompleted. */
export function watch(
  stream: AsyncIterable<StreamResult<{ sendMessage?: StreamEvent; messageStream?: StreamEvent }>>,
) {
  const seen: StreamEvent[] = [];
  const done = (async () => {
    for await (const result of stream) {
      seen.push(...eventsOf([result]));
      if (isCompleted(result)) return;
    }
  })();
  return { seen, done };
}

/** The conversation of a stream: from its first MessageCreated event. */
export function conversationIdOf(events: StreamEvent[]): string {
  const created = events.find((e) => e.__typename === "MessageCreated");
  if (created?.__typename !== "MessageCreated") throw new Error("no MessageCreated event");
  return created.message.conversation.id;
}

/**
 * A stream's event types with each run of consecutive deltas of one kind shown once: a reader that is
 * behind (chunks that arrived in one turn included) gets such a run merged into one event whose `seq` is
 * the run's last (CONTRACT: `seq` may skip).
 */
export function mergedTypes(events: readonly { __typename: string }[]): string[] {
  return events
    .map((e) => e.__typename)
    .filter((type, i, all) => !(type.endsWith("Delta") && all[i - 1] === type));
}

/** Whether seqs only increase (each event's seq above the one before). */
export function increasing(seqs: number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number));
}
