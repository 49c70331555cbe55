import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyChunks, createHttpFetch } from "../../src/agent/model/http-fetch.js";

// A full collection on demand, to tell what a streaming response keeps alive.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("the model's fetch over node:http", () => {
  let server: Server;
  let url: string;
  let received: IncomingHttpHeaders | undefined;
  let streaming: ServerResponse | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received = request.headers;
      sockets.push(request.socket);
      response.writeHead(200, { "content-type": "text/event-stream", "x-request-id": "req-1" });
      response.write("data: first\n\n");
      streaming = response; // the test sends the rest
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat/completions`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the host, the caller's headers and the body's length", async () => {
    const fetch = createHttpFetch();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: '{"é":1}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("req-1");
    expect(received).toMatchObject({
      host: new URL(url).host,
      "content-type": "application/json",
      authorization: "Bearer k",
      "content-length": "8",
    });
    streaming?.end();
    const body = bodyChunks(response);
    // The request's head, sent, is not kept as long as the response streams (Node would keep the whole
    // text of it, about 0.4 KB for a model request).
    const { req: request } = body as IncomingMessage & { req: { headersSent: boolean; _header: string } };
    expect(request.headersSent).toBe(true);
    expect(request._header.length).toBeLessThan(8);
    let text = "";
    for await (const bytes of body) text += Buffer.from(bytes).toString();
    expect(text).toBe("data: first\n\n");
  });

  it("keeps the connection for the next request once a body has ended, as the server's keep-alive allows", async () => {
    const fetch = createHttpFetch();
    const read = async () => {
      const response = await fetch(url, { method: "POST", body: "{}" });
      streaming?.end();
      const body = bodyChunks(response);
      // The Node response behind the body holds no header list (the `Response` has them), only the
      // keep-alive hint Node's agent reads when it frees the socket.
      expect((body as IncomingMessage).rawHeaders).toEqual([]);
      expect((body as IncomingMessage).headers).toEqual({ "keep-alive": "timeout=5" });
      for await (const _ of body);
    };
    const before = sockets.length;
    await read();
    await new Promise((resolve) => setImmediate(resolve));
    await read();
    expect(sockets.length).toBe(before + 2);
    expect(sockets[before + 1]).toBe(sockets[before]);
  });

  it("keeps no `Response` alive while its body streams", async () => {
    const fetch = createHttpFetch();
    const signal = new AbortController().signal; // listened to for as long as the body streams
    let held: WeakRef<Response> | undefined;
    const body = await (async () => {
      const response = await fetch(url, { method: "POST", body: "{}", signal });
      held = new WeakRef(response);
      return (bodyChunks(response) as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    })();
    const first = await body.next();
    expect(Buffer.from(first.value as Uint8Array).toString()).toBe("data: first\n\n");
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(held?.deref()).toBeUndefined();
    // …and the body still streams.
    streaming?.end("data: second\n\n");
    const second = await body.next();
    expect(Buffer.from(second.value as Uint8Array).toString()).toBe("data: second\n\n");
    expect((await body.next()).done).toBe(true);
  });
});
