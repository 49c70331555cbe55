import { describe, expect, it } from "vitest";
import type { MessageState, RunEvent } from "../../src/agent/runs/events.js";
import { catchUp, type FollowSource, snapshotAfterLag } from "../../src/cluster/catch-up.js";
import { FollowMachine, followReply } from "../../src/cluster/follow.js";

const timings = { gapRetryMs: 5, outagePollMs: 7, idleCheckMs: 1_000 };

const delta = (seq: number): RunEvent => ({ type: "TextDelta", seq, messageId: "m", delta: `t${seq}` });
const saved = (lastSeq: number, status: MessageState["status"] = "STREAMING"): MessageState =>
  ({ id: "m", lastSeq, status, content: "saved", toolCalls: [] }) as unknown as MessageState;
const completed = (seq: number): RunEvent => ({
  type: "MessageCompleted",
  seq,
  message: saved(seq, "COMPLETE"),
});
const seqs = (events: RunEvent[]) =>
  events.map((e) => `${e.type === "TextDelta" ? "" : `${e.type}:`}${e.seq}`);

describe("FollowMachine", () => {
  it("starts with a first catch-up from the client's position, then later ones are not first", () => {
    const machine = new FollowMachine(3);
    expect(machine.phase).toBe("catch-up");
    expect(machine.beginCatchUp()).toEqual({ afterSeq: 3, initial: true, lagged: false });
    expect(machine.caughtUp({ events: [delta(4)], retryInMs: null, gone: false }).map((e) => e.seq)).toEqual([
      4,
    ]);
    expect(machine.phase).toBe("live");
    machine.recheck();
    expect(machine.phase).toBe("catch-up");
    expect(machine.beginCatchUp()).toEqual({ afterSeq: 4, initial: false, lagged: false });
  });

  it("delivers contiguous live events and drops those already delivered", () => {
    const machine = new FollowMachine(0);
    machine.beginCatchUp();
    machine.caughtUp({ events: [delta(1), delta(2)], retryInMs: null, gone: false });
    for (const seq of [2, 3, 4]) machine.receive(delta(seq));
    expect(seqs(machine.drain())).toEqual(["3", "4"]);
    expect(machine.position).toBe(4);
    expect(machine.drain()).toEqual([]);
  });

  it("turns to a catch-up at a hole in the live events and keeps the event after the hole for later", () => {
    const machine = new FollowMachine(0);
    machine.beginCatchUp();
    machine.caughtUp({ events: [], retryInMs: null, gone: false });
    machine.receive(delta(1));
    machine.receive(delta(3));
    expect(seqs(machine.drain())).toEqual(["1"]);
    expect(machine.phase).toBe("catch-up");
    expect(machine.beginCatchUp().afterSeq).toBe(1);
    expect(seqs(machine.caughtUp({ events: [delta(2)], retryInMs: null, gone: false }))).toEqual(["2"]);
    expect(seqs(machine.drain())).toEqual(["3"]);
  });

  it("always delivers the final event, even at or below its position, and then ends", () => {
    const machine = new FollowMachine(9);
    machine.beginCatchUp();
    machine.caughtUp({ events: [], retryInMs: null, gone: false });
    machine.receive(completed(9));
    machine.receive(delta(10));
    expect(seqs(machine.drain())).toEqual(["MessageCompleted:9"]);
    expect(machine.phase).toBe("ended");
    machine.receive(delta(11));
    machine.recheck();
    expect(machine.phase).toBe("ended");
    expect(machine.drain()).toEqual([]);
  });

  it("ends with nothing when the reply is gone", () => {
    const machine = new FollowMachine(0);
    machine.beginCatchUp();
    expect(machine.caughtUp({ events: [delta(1)], retryInMs: null, gone: true })).toEqual([]);
    expect(machine.phase).toBe("ended");
  });

  it("keeps a recheck asked for while a catch-up was reading", () => {
    const machine = new FollowMachine(0);
    machine.beginCatchUp();
    machine.recheck();
    machine.caughtUp({ events: [delta(1)], retryInMs: null, gone: false });
    expect(machine.phase).toBe("catch-up");
  });

  it("waits as long as the last catch-up said, or the idle check", () => {
    const machine = new FollowMachine(0);
    expect(machine.waitMs(1_000)).toBe(1_000);
    machine.beginCatchUp();
    machine.caughtUp({ events: [], retryInMs: 5, gone: false });
    expect(machine.waitMs(1_000)).toBe(5);
  });
});

/** A reply's shared history and saved row, kept in memory as Redis and the database would hold them. */
class MemorySource implements FollowSource {
  held: RunEvent[] = [];
  row: MessageState | null = saved(0);
  reachable = true;
  reads = 0;
  /** Settles the subscriptions' `ready`: confirmed by default. */
  readonly confirmed = settled(true);
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly connection = new Set<() => void>();

  subscribe(_messageId: string, listener: (event: RunEvent) => void) {
    this.listeners.add(listener);
    return { ready: this.confirmed.promise, close: () => this.listeners.delete(listener) };
  }
  onConnectionChange(listener: () => void) {
    this.connection.add(listener);
    return () => this.connection.delete(listener);
  }
  async read(_messageId: string, afterSeq: number) {
    this.reads += 1;
    if (!this.reachable) throw new Error("unreachable");
    return this.held.filter((e) => e.seq > afterSeq);
  }
  async load() {
    return this.row;
  }
  /** Holds and publishes an event; `lost` holds it without live delivery (Redis dropped the message). */
  publish(event: RunEvent, lost = false) {
    this.held.push(event);
    if (!lost) for (const listener of this.listeners) listener(event);
  }
  reconnect() {
    for (const listener of this.connection) listener();
  }
  get subscribers() {
    return this.listeners.size;
  }
}

describe("a follower that falls behind", () => {
  it("drops its waiting live events past the lag limit and asks for a lagged catch-up", () => {
    const machine = new FollowMachine(0, 3);
    machine.beginCatchUp();
    machine.caughtUp({ events: [], retryInMs: null, gone: false });
    for (const seq of [1, 2, 3]) machine.receive(delta(seq));
    expect(machine.phase).toBe("live");
    machine.receive(delta(4));
    expect(machine.phase).toBe("catch-up");
    expect(machine.drain()).toEqual([]);
    expect(machine.beginCatchUp()).toEqual({ afterSeq: 0, initial: false, lagged: true });
    // The snapshot moves the position; later live events continue from it, older ones are dropped.
    const snapshot: RunEvent = { type: "MessageSnapshot", seq: 4, message: saved(4) };
    expect(seqs(machine.caughtUp({ events: [snapshot], retryInMs: null, gone: false }))).toEqual([
      "MessageSnapshot:4",
    ]);
    machine.receive(delta(4));
    machine.receive(delta(5));
    expect(seqs(machine.drain())).toEqual(["5"]);
    expect(machine.phase).toBe("live");
  });

  it("catches up with the saved reply as a snapshot, then the held events after it", async () => {
    const source = new MemorySource();
    source.held = [delta(1), delta(2), delta(3), delta(4), delta(5)];
    source.row = saved(3);
    expect(await snapshotAfterLag(source, timings, "m", 1)).toEqual({
      events: [{ type: "MessageSnapshot", seq: 3, message: saved(3) }, delta(4), delta(5)],
      retryInMs: null,
      gone: false,
    });
  });

  it("leaves the catch-up to the held events while the saved reply is not past the reader", async () => {
    const source = new MemorySource();
    source.row = saved(1);
    expect(await snapshotAfterLag(source, timings, "m", 2)).toBeNull();
  });

  it("gives a finished reply's end, or nothing when it is gone", async () => {
    const source = new MemorySource();
    source.row = saved(7, "COMPLETE");
    expect(seqs((await snapshotAfterLag(source, timings, "m", 1))?.events ?? [])).toEqual([
      "MessageCompleted:7",
    ]);
    source.row = null;
    expect(await snapshotAfterLag(source, timings, "m", 1)).toMatchObject({ events: [], gone: true });
  });

  it("polls the database when the history is unreachable", async () => {
    const source = new MemorySource();
    source.row = saved(5);
    source.reachable = false;
    expect(await snapshotAfterLag(source, timings, "m", 1)).toMatchObject({
      events: [{ type: "MessageSnapshot", seq: 5 }],
      retryInMs: timings.outagePollMs,
    });
  });

  it("a slow reader of a long reply gets a snapshot instead of every event it fell behind on", async () => {
    const source = new MemorySource();
    source.held = [delta(1)];
    const stream = followReply(source, timings, "m", 0, new AbortController().signal);
    const iterator = stream[Symbol.asyncIterator]();
    expect(seqs([(await iterator.next()).value as RunEvent])).toEqual(["1"]);
    // The reader stops reading while 1,500 events are published; the reply saves up to 1,400 meanwhile.
    for (let seq = 2; seq <= 1_501; seq++) source.publish(delta(seq));
    source.row = saved(1_400);
    source.publish(completed(1_502));
    const rest: RunEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(seqs(rest)).toEqual([
      "MessageSnapshot:1400",
      ...Array.from({ length: 101 }, (_, i) => String(1_401 + i)),
      "MessageCompleted:1502",
    ]);
  });
});

describe("catchUp", () => {
  it("returns the held events after the position, and asks to look again at once past a hole", async () => {
    const source = new MemorySource();
    source.held = [delta(1), delta(2), delta(4)];
    const found = await catchUp(source, timings, "m", 0, false);
    expect(seqs(found.events)).toEqual(["1", "2"]);
    expect(found.retryInMs).toBe(0);
  });

  it("answers a first look at a finished reply with its final event alone", async () => {
    const source = new MemorySource();
    source.held = [delta(1), delta(2), completed(3)];
    const found = await catchUp(source, timings, "m", 0, true);
    expect(seqs(found.events)).toEqual(["MessageCompleted:3"]);
  });

  it("stands the saved reply in for events the history no longer holds", async () => {
    const source = new MemorySource();
    source.held = [delta(6), delta(7)];
    source.row = saved(5);
    const found = await catchUp(source, timings, "m", 2, false);
    expect(seqs(found.events)).toEqual(["MessageSnapshot:5", "6", "7"]);
    expect(found.retryInMs).toBeNull();
  });

  it("waits for the next flush when the saved reply does not reach the held events yet", async () => {
    const source = new MemorySource();
    source.held = [delta(8)];
    source.row = saved(5);
    const found = await catchUp(source, timings, "m", 2, false);
    expect(found).toEqual({ events: [], retryInMs: timings.gapRetryMs, gone: false });
  });

  it("polls the database while the history is unreachable", async () => {
    const source = new MemorySource();
    source.reachable = false;
    source.row = saved(4);
    const found = await catchUp(source, timings, "m", 2, false);
    expect(seqs(found.events)).toEqual(["MessageSnapshot:4"]);
    expect(found.retryInMs).toBe(timings.outagePollMs);
  });

  it("starts a first look from beyond the reply's last event over, from the saved reply and the held tail", async () => {
    const source = new MemorySource();
    source.held = [delta(5), delta(6)];
    source.row = saved(4);
    const found = await catchUp(source, timings, "m", 1_000, true);
    expect(seqs(found.events)).toEqual(["MessageSnapshot:4", "5", "6"]);
    expect(found.restart).toBe(true);
    const machine = new FollowMachine(1_000);
    machine.beginCatchUp();
    expect(seqs(machine.caughtUp(found))).toEqual(["MessageSnapshot:4", "5", "6"]);
    machine.receive(delta(7));
    expect(seqs(machine.drain())).toEqual(["7"]);
    // A client just ahead of the saved reply but not of the reply: it waits for the next live event.
    expect(await catchUp(source, timings, "m", 6, true)).toEqual({
      events: [],
      retryInMs: null,
      gone: false,
    });
  });

  it("ends with the saved end of a reply that finished, and reports one that is gone", async () => {
    const source = new MemorySource();
    source.row = saved(9, "COMPLETE");
    expect(seqs((await catchUp(source, timings, "m", 2, false)).events)).toEqual(["MessageCompleted:9"]);
    source.row = null;
    expect(await catchUp(source, timings, "m", 2, false)).toEqual({
      events: [],
      retryInMs: null,
      gone: true,
    });
  });
});

describe("followReply", () => {
  async function collect(iterable: AsyncIterable<RunEvent>, until: (events: RunEvent[]) => boolean) {
    const events: RunEvent[] = [];
    for await (const event of iterable) {
      events.push(event);
      if (until(events)) break;
    }
    return events;
  }

  it("replays the held events, then live ones, reads back what live delivery lost, and ends", async () => {
    const source = new MemorySource();
    source.held = [delta(1), delta(2)];
    const stream = followReply(source, timings, "m", 0, new AbortController().signal);
    const events: RunEvent[] = [];
    const done = (async () => {
      for await (const event of stream) events.push(event);
    })();
    await until(() => events.length === 2);
    source.publish(delta(3));
    source.publish(delta(4), true);
    source.publish(delta(5));
    source.publish(completed(6));
    await done;
    expect(seqs(events)).toEqual(["1", "2", "3", "4", "5", "MessageCompleted:6"]);
    expect(source.subscribers).toBe(0);
  });

  it("catches up after a change of connection", async () => {
    const source = new MemorySource();
    const stream = followReply(source, timings, "m", 0, new AbortController().signal);
    const collecting = collect(stream, (events) => events.length === 2);
    await until(() => source.reads === 1);
    source.publish(delta(1), true);
    source.publish(delta(2), true);
    source.reconnect();
    expect(seqs(await collecting)).toEqual(["1", "2"]);
  });

  it("says it attached once, after the subscription is confirmed and the first catch-up", async () => {
    const source = new MemorySource();
    const confirmed = settled<boolean>();
    source.subscribe = (_id, listener) => ({
      ...MemorySource.prototype.subscribe.call(source, _id, listener),
      ready: confirmed.promise,
    });
    source.held = [delta(1)];
    let attached = 0;
    const stream = followReply(source, timings, "m", 1, new AbortController().signal, () => attached++);
    const collecting = collect(stream, (events) => events.length === 1);
    // Unconfirmed, the follower reads the history after a bounded wait (a second) all the same; resumed at
    // the newest event, it finds nothing to deliver, and only the signal can show that it is attached.
    await until(() => source.reads > 0, 3_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(attached).toBe(0);
    confirmed.resolve(true);
    await until(() => attached === 1);
    source.publish(delta(2));
    expect(seqs(await collecting)).toEqual(["2"]);
    source.reconnect();
    expect(attached).toBe(1);
  });

  it("does not say it attached when the subscription could not be made", async () => {
    const source = new MemorySource();
    const refused = settled<boolean>();
    source.subscribe = (_id, listener) => ({
      ...MemorySource.prototype.subscribe.call(source, _id, listener),
      ready: refused.promise,
    });
    refused.resolve(false);
    let attached = 0;
    const abort = new AbortController();
    const collecting = collect(
      followReply(source, timings, "m", 0, abort.signal, () => attached++),
      () => false,
    );
    await until(() => source.reads === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort();
    await collecting;
    expect(attached).toBe(0);
  });

  it("stops when the client goes away", async () => {
    const source = new MemorySource();
    const abort = new AbortController();
    const stream = followReply(source, timings, "m", 0, abort.signal);
    const collecting = collect(stream, () => false);
    await until(() => source.reads === 1);
    abort.abort();
    expect(await collecting).toEqual([]);
    expect(source.subscribers).toBe(0);
  });
});

async function until(condition: () => boolean, ms = 1_000): Promise<void> {
  for (let i = 0; i < ms / 5 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

/** A promise with its resolver, already resolved with `value` when one is given. */
function settled<T>(...value: [T] | []) {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  if (value.length === 1) resolve(value[0]);
  return { promise, resolve };
}
