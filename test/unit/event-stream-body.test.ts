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
    const failing: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]: () => failing,
      next: async () => {
        throw new Error("feed broke");
      },
    };
    await expect(text(eventStreamBody(failing, (r) => r))).rejects.toThrow("feed broke");
  });
});
