import { randomUUID } from "node:crypto";
import { createServer, request, type Server, type ServerOptions, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { newUuid } from "../../src/core/ids.js";
import { CompactHeaderResponse } from "../../src/http/compact-response.js";

// What a string built from pieces costs while it is kept: V8 keeps it as a tree of its pieces unless it is
// flattened. Read as live heap after full collections, with many of them held.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * The live heap once two readings in a row agree: on a busy machine (this file beside the integration
 * suites), two readings with nothing run in between have differed by more than the bound checked below.
 */
function settledHeap(): number {
  let last = liveHeap();
  for (let i = 0; i < 10; i++) {
    const now = liveHeap();
    if (Math.abs(now - last) < 1_024) return now;
    last = now;
  }
  return last;
}

/** Live heap per item that `make` returns, with `count` of them held at once. */
async function heapPerItem<T>(count: number, make: () => T | Promise<T>): Promise<number> {
  const held: T[] = [];
  const before = settledHeap();
  for (let i = 0; i < count; i++) held.push(await make());
  const after = settledHeap();
  expect(held).toHaveLength(count);
  return (after - before) / count;
}

describe("strings kept as long as what they name", () => {
  it("ids made here are one string, not Node's twenty pieces", async () => {
    const id = newUuid();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Many, so that what the test worker itself allocates meanwhile (100 kB has been seen) is a byte or two
    // an item.
    const pieces = await heapPerItem(50_000, randomUUID);
    const flat = await heapPerItem(50_000, newUuid);
    // A 36-character string takes 56 bytes, and its slot in the array 8.
    expect(flat).toBeLessThan(100);
    expect(pieces).toBeGreaterThan(3 * flat);
  });

  it("an open response keeps no copy of its head once it is sent", async () => {
    /** What letting go of the heads of 200 open responses frees, per response. */
    const freedByDropping = async (options: ServerOptions) => {
      const open: ServerResponse[] = [];
      const server: Server = createServer(options, (_req, res) => {
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          "x-request-id": newUuid(),
          "access-control-allow-origin": "*",
          vary: "origin",
        });
        res.write(":\n\n");
        open.push(res);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      try {
        for (let i = 0; i < 200; i++)
          await new Promise<void>((resolve, reject) => {
            request({ port, host: "127.0.0.1", agent: false }, (res) => {
              // The head as written, whichever class wrote it.
              expect(res.headers["content-type"]).toBe("text/event-stream");
              expect(res.headers.vary).toBe("origin");
              res.once("data", () => resolve());
            })
              .on("error", reject)
              .end();
          });
        for (const res of open) expect(res.headersSent).toBe(true);
        const before = settledHeap();
        for (const res of open) (res as unknown as { _header: string })._header = "x";
        return (before - liveHeap()) / open.length;
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    };
    // Node's head of these headers is a rope of about thirty pieces (32 bytes each, and their strings).
    expect(await freedByDropping({})).toBeGreaterThan(500);
    expect(await freedByDropping({ ServerResponse: CompactHeaderResponse })).toBeLessThan(50);
  });
});
