import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { text as consume } from "node:stream/consumers";
import type { ExecutionResult } from "graphql";
import { print } from "graphql-sse";
import { describe, expect, it } from "vitest";
import { eventStreamBody } from "../../src/http/event-stream-body.js";

// The graphql-sse endpoint's own body for operations with a stream of their own: the bytes graphql-sse's
// handler writes, read from the results only as fast as the client reads.

async function text(body: NodeJS.ReadableStream): Promise<string> {
  let all = "";
  for await (const chunk of body) all += String(chunk);
  return all;
}

/** Results that count how many were asked for. */
function counted(total: number) {
  const state = { asked: 0, returned: false };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      state.asked++;
      return state.asked > total
        ? { done: true, value: undefined }
        : { done: false, value: { data: { n: state.asked, pad: "x".repeat(1_000) } } };
    },
    return: async () => {
      state.returned = true;
      return { done: true, value: undefined };
    },
  };
  return { iterator, state };
}

/** Results whose first read fails. */
function failing(): AsyncIterableIterator<ExecutionResult> {
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      throw new Error("feed broke");
    },
  };
  return iterator;
}

describe("eventStreamBody", () => {
  it("writes what graphql-sse writes: a comment, a next event per result, complete", async () => {
    const { iterator } = counted(2);
    const expected = [
      ":\n\n",
      print({ event: "next", data: { data: { n: 1, pad: "x".repeat(1_000) } } }),
      print({ event: "next", data: { data: { n: 2, pad: "x".repeat(1_000) } } }),
      print({ event: "complete", data: null }),
    ].join("");
    expect(await text(eventStreamBody(iterator, (r) => r))).toBe(expected);
    // A single result (an operation that is not a subscription, or one refused before it started), formatted.
    const formatted = (r: ExecutionResult): ExecutionResult => ({ ...r, extensions: { seen: true } });
    expect(await text(eventStreamBody({ data: null }, formatted))).toBe(
      `:\n\n${print({ event: "next", data: { data: null, extensions: { seen: true } } })}${print({ event: "complete", data: null })}`,
    );
  });

  it("reads results only while the client takes them, and closes them when the client leaves", async () => {
    const { iterator, state } = counted(100_000);
    const body = eventStreamBody(iterator, (r) => r);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nobody reads: only what fills the stream's buffer (16 KB, about 16 results) was asked for.
    expect(state.asked).toBeGreaterThan(0);
    expect(state.asked).toBeLessThan(40);
    body.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.returned).toBe(true);
  });

  it("cuts the body when the results fail", async () => {
    await expect(text(eventStreamBody(failing(), (r) => r))).rejects.toThrow("feed broke");
  });

  describe("piped into a response", () => {
    /** A response whose socket takes one write at a time, each after `delayMs`. */
    function response(delayMs: number) {
      const written: string[] = [];
      const destination = new Writable({
        highWaterMark: 4 * 1024,
        decodeStrings: false,
        write(chunk: string, _encoding, callback) {
          written.push(chunk);
          setTimeout(callback, delayMs);
        },
      });
      const ended = new Promise<void>((resolve) => destination.on("finish", resolve));
      return { destination, written, ended };
    }

    it("writes to Node's response itself, without pipe's listeners, and ends it", async () => {
      const { iterator } = counted(200);
      const listeners: Record<string, number> = {};
      const server = createServer((_request, res) => {
        const count = () => res.eventNames().reduce<number>((n, name) => n + res.listenerCount(name), 0);
        const before = count();
        const body = eventStreamBody(iterator, (r) => r);
        body.pipe(res);
        // Node's pipe would have added five listeners to the response and two to the body, for good; the
        // body adds one, for the response's close.
        listeners.added = count() - before;
        listeners.body = body.listenerCount("data") + body.listenerCount("end");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const received = await new Promise<string>((resolve, reject) =>
          get({ port, host: "127.0.0.1" }, (response) => resolve(consume(response))).on("error", reject),
        );
        const expected = [":\n\n"];
        for (let n = 1; n <= 200; n++)
          expected.push(print({ event: "next", data: { data: { n, pad: "x".repeat(1_000) } } }));
        expected.push(print({ event: "complete", data: null }));
        expect(received).toBe(expected.join(""));
        expect(listeners).toEqual({ added: 1, body: 0 });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("replaces the close listener the server adapter adds before piping, and closes the results itself", async () => {
      const { iterator, state } = counted(1_000_000);
      const seen: { kept?: boolean; adapters?: boolean } = {};
      let closed: () => void = () => {};
      const responseClosed = new Promise<void>((resolve) => {
        closed = resolve;
      });
      const server = createServer((_request, res) => {
        const own = () => {};
        res.on("close", own); // there before the body: not the adapter's
        const body = eventStreamBody(iterator, (r) => r, res);
        // What whatwg-node's server adapter does just before it pipes a Node body.
        const adapters = () => body.destroy();
        res.once("close", adapters);
        body.pipe(res);
        seen.kept = res.listeners("close").includes(own);
        seen.adapters = res.listeners("close").includes(adapters);
        res.on("close", closed);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const { port } = server.address() as AddressInfo;
        await new Promise<void>((resolve, reject) => {
          const request = get({ port, host: "127.0.0.1" }, (response) => {
            response.once("data", () => {
              request.destroy();
              resolve();
            });
          }).on("error", () => {});
          request.on("error", reject);
        });
        await responseClosed;
        await new Promise((resolve) => setImmediate(resolve));
        expect(seen).toEqual({ kept: true, adapters: false });
        // The client left: the body was destroyed, which closed the results.
        expect(state.returned).toBe(true);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("asks for results only as fast as the response drains", async () => {
      const { iterator, state } = counted(200);
      const { destination, written, ended } = response(1);
      eventStreamBody(iterator, (r) => r).pipe(destination);
      await new Promise((resolve) => setTimeout(resolve, 30));
      // Each result is 1 KB and the response holds 4 KB.
      expect(state.asked).toBeLessThan(60);
      await ended;
      expect(written.length).toBe(202);
    });

    it("closes the results when the response closes, and cuts the response when they fail", async () => {
      const { iterator, state } = counted(100_000);
      const first = response(5);
      const body = eventStreamBody(iterator, (r) => r);
      body.pipe(first.destination);
      await new Promise((resolve) => setTimeout(resolve, 20));
      first.destination.destroy();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(state.returned).toBe(true);

      const second = response(0);
      const broken = eventStreamBody(failing(), (r) => r);
      const errors: unknown[] = [];
      broken.on("error", (error) => errors.push(error));
      broken.pipe(second.destination);
      await new Promise((resolve) => second.destination.on("close", resolve));
      expect(second.destination.writableFinished).toBe(false);
      expect(second.written).toEqual([":\n\n"]);
      // Cut, not failed: no error is left for a body that nobody listens to.
      expect(errors).toEqual([]);
    });
  });
});
