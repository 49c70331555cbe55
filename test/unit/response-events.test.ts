import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ChunkDecoder } from "../../src/agent/model/openai-sse.js";
import { ResponseEvents, Stalls } from "../../src/agent/model/response-events.js";

const text = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const FINISH = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`;

/** A stream of events over `body`, with the reads it says were taken counted. */
function eventsOver(body: PassThrough | Uint8Array[], idleTimeoutMs = 5_000) {
  const seen = { readsTaken: 0, opened: 0 };
  const events = new ResponseEvents(
    {
      messages: [],
      signal: new AbortController().signal,
      onReadTaken: () => {
        seen.readsTaken++;
      },
    },
    async () => {
      seen.opened++;
      return { body, decoder: new ChunkDecoder() };
    },
    new Stalls(idleTimeoutMs),
  );
  return { events, seen };
}

describe("a model response's events", () => {
  it("requests nothing before the first read", async () => {
    const { events, seen } = eventsOver(new PassThrough());
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.opened).toBe(0);
    void events.next();
    expect(seen.opened).toBe(1);
    await events.return();
  });

  it("reads the body only once the events it brought before are taken, all it holds at once", async () => {
    const body = new PassThrough();
    const { events, seen } = eventsOver(body);
    const first = events.next();
    body.write(text("a") + text("b"));
    expect(await first).toEqual({ done: false, value: { type: "text", delta: "a" } });
    // "b" is still to be taken: what comes meanwhile stays in the stream, unread.
    body.write(text("c"));
    body.write(text("d"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(body.readableLength).toBeGreaterThan(0);
    expect((await events.next()).value).toEqual({ type: "text", delta: "b" });
    expect(seen.readsTaken).toBe(0);
    // Both writes are read as one: said taken once, after "d".
    expect((await events.next()).value).toEqual({ type: "text", delta: "c" });
    expect(seen.readsTaken).toBe(1);
    expect(body.readableLength).toBe(0);
    expect((await events.next()).value).toEqual({ type: "text", delta: "d" });
    const last = events.next();
    expect(seen.readsTaken).toBe(2);
    body.end(FINISH);
    expect((await last).value).toEqual({ type: "finish", reason: "stop" });
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(seen.readsTaken).toBe(3);
  });

  it("says a read was taken when it brought chunks without events while the reader waits", async () => {
    const body = new PassThrough();
    const { events, seen } = eventsOver(body);
    const next = events.next();
    body.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" } }] })}\n\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.readsTaken).toBe(1);
    body.write(text("then text"));
    expect((await next).value).toEqual({ type: "text", delta: "then text" });
    await events.return();
  });

  it("gives the events before a body that ends without a finish reason, then fails", async () => {
    const body = new PassThrough();
    const { events } = eventsOver(body);
    body.end(text("half"));
    expect((await events.next()).value).toEqual({ type: "text", delta: "half" });
    await expect(events.next()).rejects.toMatchObject({
      name: "ModelError",
      message: "The model stream ended before the reply was finished",
    });
  });

  it("gives the events before data that is not JSON, then fails and closes the body", async () => {
    const body = new PassThrough();
    const { events } = eventsOver(body);
    body.write(`${text("fine")}data: {not json\n\n`);
    expect((await events.next()).value).toEqual({ type: "text", delta: "fine" });
    await expect(events.next()).rejects.toMatchObject({ name: "ModelError" });
    expect(body.destroyed).toBe(true);
  });

  it("cuts a body that sends nothing for the idle timeout, never one that sends within it", async () => {
    const body = new PassThrough();
    const { events } = eventsOver(body, 50);
    // Chunks every 20 ms for 200 ms: four idle timeouts in all, none of them silent.
    for (let i = 0; i < 10; i++) {
      body.write(text(`${i}`));
      expect((await events.next()).value).toEqual({ type: "text", delta: `${i}` });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    body.write(text("and then"));
    const last = Date.now();
    expect((await events.next()).value).toEqual({ type: "text", delta: "and then" });
    await expect(events.next()).rejects.toMatchObject({
      message: "The model sent nothing for 50 ms; the reply was cut off",
    });
    // Checked 8 times within the timeout: cut after it, never before (and not many timeouts later).
    expect(Date.now() - last).toBeGreaterThanOrEqual(50);
    expect(Date.now() - last).toBeLessThan(50 * 4);
    expect(body.destroyed).toBe(true);
  });

  it("closes the body when the reader leaves early", async () => {
    const body = new PassThrough();
    const { events } = eventsOver(body);
    body.write(text("a") + text("b"));
    for await (const event of events) if (event.type === "text") break;
    expect(body.destroyed).toBe(true);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it("reads a body that is not a Node stream", async () => {
    const encoder = new TextEncoder();
    const { events } = eventsOver([encoder.encode(text("from a list")), encoder.encode(FINISH)]);
    const seen = [];
    for await (const event of events) seen.push(event);
    expect(seen).toEqual([
      { type: "text", delta: "from a list" },
      { type: "finish", reason: "stop" },
    ]);
  });
});
