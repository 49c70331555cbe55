import { describe, expect, it } from "vitest";
import { RunChannel } from "../../src/agent/runs/channel.js";
import type { RunEvent } from "../../src/agent/runs/events.js";
import { FEED_LAG_LIMIT, handOnNow, RunFeed } from "../../src/agent/runs/feed.js";

/** A reply being written: a real channel, and its text as the run keeps it. */
function reply(capacity = 5_000) {
  const channel = new RunChannel(capacity);
  let text = "";
  return {
    channel,
    snapshot: (): RunEvent => ({
      type: "MessageSnapshot",
      seq: channel.lastSeq,
      message: { content: text } as never,
    }),
    write(delta: string) {
      channel.emit({ type: "TextDelta", messageId: "m", delta });
      text += delta;
    },
    complete() {
      channel.emit({ type: "MessageCompleted", message: { content: text } as never });
    },
  };
}

async function drain(feed: RunFeed): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of feed) events.push(event);
  return events;
}

const textOf = (events: RunEvent[]) =>
  events
    .map((e) => (e.type === "TextDelta" ? e.delta : e.type === "MessageSnapshot" ? e.message.content : ""))
    .join("");

describe("RunFeed", () => {
  it("replays the buffered events after afterSeq, then live ones, and ends with MessageCompleted", async () => {
    const run = reply();
    run.write("a");
    run.write("b");
    const feed = new RunFeed(run, 1, new AbortController().signal);
    run.write("c");
    run.complete();
    const events = await drain(feed);
    // "b" and "c" were both waiting when read: one TextDelta with the last one's seq.
    expect(events.map((e) => e.seq)).toEqual([3, 4]);
    expect(textOf(events)).toBe("bc");
    expect(events.at(-1)?.type).toBe("MessageCompleted");
  });

  it("hands a reader that waits each event as it is emitted", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    const next = feed.next();
    run.write("x");
    expect(await next).toEqual({ done: false, value: expect.objectContaining({ seq: 1, delta: "x" }) });
  });

  it("bounds what a stalled reader holds: past the lag limit it gets a snapshot matching the text", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    for (let i = 0; i < FEED_LAG_LIMIT + 50; i++) run.write(`${i} `);
    const snapshot = (await feed.next()).value as RunEvent;
    expect(snapshot.type).toBe("MessageSnapshot");
    expect(snapshot.seq).toBe(FEED_LAG_LIMIT + 50);
    run.write("tail");
    run.complete();
    const rest = await drain(feed);
    expect(rest.map((e) => e.seq)).toEqual([FEED_LAG_LIMIT + 51, FEED_LAG_LIMIT + 52]);
    expect(textOf([snapshot, ...rest])).toBe(
      `${Array.from({ length: FEED_LAG_LIMIT + 50 }, (_, i) => `${i} `).join("")}tail`,
    );
  });

  it("delivers the final event to a lagging reader instead of a snapshot", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    for (let i = 0; i < FEED_LAG_LIMIT + 5; i++) run.write("w");
    run.complete();
    const events = await drain(feed);
    expect(events.map((e) => e.type)).toEqual(["MessageCompleted"]);
  });

  it("answers a finished run with its final event alone, whatever afterSeq", async () => {
    const run = reply();
    run.write("done");
    run.complete();
    const events = await drain(new RunFeed(run, 5, new AbortController().signal));
    expect(events.map((e) => [e.type, e.seq])).toEqual([["MessageCompleted", 2]]);
  });

  it("sends a snapshot when afterSeq has left the run's buffer", async () => {
    const run = reply(3);
    for (const delta of ["a", "b", "c", "d", "e"]) run.write(delta);
    const feed = new RunFeed(run, 1, new AbortController().signal);
    run.complete();
    const events = await drain(feed);
    expect(events[0]).toMatchObject({ type: "MessageSnapshot", seq: 5 });
    expect(events.map((e) => e.type)).toEqual(["MessageSnapshot", "MessageCompleted"]);
  });

  it("ends a waiting read when the request aborts, and stops listening to the run", async () => {
    const run = reply();
    const abort = new AbortController();
    const feed = new RunFeed(run, 0, abort.signal);
    const pending = feed.next();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    run.write("late");
    expect(await feed.next()).toEqual({ done: true, value: undefined });
  });

  it("tells when the first event was handed on: when the reader comes back for more", async () => {
    const run = reply();
    run.write("a");
    const handedOn: number[] = [];
    const feed = new RunFeed(run, 0, new AbortController().signal, () => handedOn.push(Date.now()));
    await feed.next();
    expect(handedOn).toHaveLength(0);
    run.write("b");
    await feed.next();
    expect(handedOn).toHaveLength(1);
    await feed.return();
    expect(handedOn).toHaveLength(1);
  });
});

describe("RunFeed merging", () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it("hands a waiting reader the chunks of one turn as one TextDelta with the last seq", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    const next = feed.next();
    for (const delta of ["a", "b", "c"]) run.write(delta);
    expect(await next).toEqual({ done: false, value: expect.objectContaining({ seq: 3, delta: "abc" }) });
    const later = feed.next();
    await turn();
    run.write("d");
    expect(await later).toEqual({ done: false, value: expect.objectContaining({ seq: 4, delta: "d" }) });
  });

  it("hands on at once what arrived when the run says a read was taken, merged, before the turn ends", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    const next = feed.next();
    let turnEnded = false;
    setImmediate(() => {
      turnEnded = true;
    });
    run.write("a");
    run.write("b");
    handOnNow();
    expect(await next).toEqual({ done: false, value: expect.objectContaining({ seq: 2, delta: "ab" }) });
    expect(turnEnded).toBe(false);
    // What comes after in the same turn still goes on at the turn's end.
    const later = feed.next();
    run.write("c");
    expect(await later).toEqual({ done: false, value: expect.objectContaining({ seq: 3, delta: "c" }) });
    expect(turnEnded).toBe(true);
  });

  it("never merges across another event, nor text with reasoning", async () => {
    const run = reply();
    const emit = (event: Parameters<typeof run.channel.emit>[0]) => run.channel.emit(event);
    run.write("a");
    run.write("b");
    emit({ type: "ReasoningDelta", messageId: "m", delta: "r1" });
    emit({ type: "ReasoningDelta", messageId: "m", delta: "r2" });
    emit({ type: "ToolCallStarted", messageId: "m", toolCall: {} as never });
    run.write("c");
    const feed = new RunFeed(run, 0, new AbortController().signal);
    run.complete();
    const events = await drain(feed);
    expect(events.map((e) => [e.type, e.seq, "delta" in e ? e.delta : null])).toEqual([
      ["TextDelta", 2, "ab"],
      ["ReasoningDelta", 4, "r1r2"],
      ["ToolCallStarted", 5, null],
      ["TextDelta", 6, "c"],
      ["MessageCompleted", 7, null],
    ]);
  });

  it("resuming after a merged event's seq continues exactly", async () => {
    const run = reply();
    for (const delta of ["a", "b", "c", "d"]) run.write(delta);
    const first = (await new RunFeed(run, 0, new AbortController().signal).next()).value as RunEvent;
    expect(first).toMatchObject({ seq: 4, delta: "abcd" });
    run.write("e");
    const resumed = new RunFeed(run, first.seq, new AbortController().signal);
    run.complete();
    const rest = await drain(resumed);
    expect(textOf([first, ...rest])).toBe("abcde");
  });

  it("a run that pauses hands on what it emitted in its last turn before the feed ends", async () => {
    const run = reply();
    const feed = new RunFeed(run, 0, new AbortController().signal);
    const next = feed.next();
    run.write("x");
    run.write("y");
    run.channel.close(); // the run paused
    expect(await next).toEqual({ done: false, value: expect.objectContaining({ seq: 2, delta: "xy" }) });
    expect(await feed.next()).toEqual({ done: true, value: undefined });
    // A feed opened once the run has paused reads what it emitted, then ends.
    const late = new RunFeed(run, 0, new AbortController().signal);
    expect(textOf(await drain(late))).toBe("xy");
  });
});

describe("RunChannel", () => {
  it("keeps exactly the newest `capacity` events for replay", () => {
    const channel = new RunChannel(4);
    for (let i = 0; i < 11; i++) channel.emit({ type: "TextDelta", messageId: "m", delta: String(i) });
    expect(channel.since(7)?.map((e) => e.seq)).toEqual([8, 9, 10, 11]);
    expect(channel.since(6)).toBeNull();
    expect(channel.since(11)).toEqual([]);
  });
});
