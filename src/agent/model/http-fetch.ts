import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { forgetSentHead } from "../../core/sent-head.js";

/**
 * A `fetch` for the `openai` client over node:http(s). Node's own fetch (undici) holds about 35 KB of heap
 * per open response (its fetch controller, request and response state, a byte stream and its reader): with
 * a thousand replies streaming at once, a third of the server's memory. Requests this one cannot send as
 * they are (a streamed or form body) go to Node's fetch.
 */
export function createHttpFetch(): typeof fetch {
  const agents = {
    "http:": new HttpAgent({ keepAlive: true }),
    "https:": new HttpsAgent({ keepAlive: true }),
  };
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const body = init.body ?? null;
    if (input instanceof Request || !(url.protocol in agents) || !(body === null || typeof body === "string"))
      return fetch(input, init);
    return send(url, init, body, agents[url.protocol as keyof typeof agents]);
  };
}

function send(url: URL, init: RequestInit, body: string | null, agent: HttpAgent): Promise<Response> {
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  // As a flat list (the form of `rawHeaders`): Node then writes them as they are, where an object would be
  // copied into a dictionary on the request that lives as long as the response streams. A list leaves
  // the host to the caller.
  const headers = ["host", url.host];
  new Headers(init.headers).forEach((value, name) => {
    if (name !== "host") headers.push(name, value);
  });
  if (body !== null) headers.push("content-length", String(Buffer.byteLength(body)));
  const open = url.protocol === "https:" ? httpsRequest : httpRequest;
  const request = open(url, { method: init.method ?? "GET", headers, agent });
  // The list is written into the head by now, yet the agent keeps it, with the request's options, as long
  // as the connection: emptied, it keeps nothing.
  headers.length = 0;
  request.end(body ?? undefined);
  // Sent with the body (or queued with it until the socket connects).
  forgetSentHead(request);
  return answer(request, signal);
}

/** The Node stream behind the body of each response made here (see {@link bodyChunks}). */
const nodeBodies = new WeakMap<Response, IncomingMessage>();

/**
 * A response's body, chunk by chunk (none when it has no body). For a response this module's fetch made,
 * the Node stream itself, read as the socket delivers it, where the web stream around it adds a reader
 * request, a promise, a queue entry and a copy of the bytes per chunk.
 */
export function bodyChunks(response: Response): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  // Node's web streams are async iterable; the DOM types this project compiles with do not say so.
  return nodeBodies.get(response) ?? (response.body as AsyncIterable<Uint8Array> | null) ?? [];
}

/**
 * The response to a request sent. Its own function so that the listeners, which live as long as the
 * response streams, hold only the request and the signal: not the request's body, headers and init (the
 * whole prompt, for a model request). Nor the promise once it is settled: through its result it would keep
 * the whole `Response` alive (headers, web stream and all) while the body streams.
 */
function answer(request: ClientRequest, signal: AbortSignal | null | undefined): Promise<Response> {
  let settle: { resolve: (response: Response) => void; reject: (error: unknown) => void } | undefined;
  const answered = new Promise<Response>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let incoming: IncomingMessage | undefined;
  const abort = () => {
    request.destroy(signal?.reason);
    incoming?.destroy(signal?.reason);
  };
  signal?.addEventListener("abort", abort, { once: true });
  request.once("response", (response: IncomingMessage) => {
    incoming = response;
    // A connection cut before anyone reads the body must not be an uncaught error; readers get it too.
    response.on("error", () => {});
    // `on` rather than `once` for events that come once: a `once` wraps its listener in two more objects,
    // kept as long as the response streams.
    response.on("close", () => signal?.removeEventListener("abort", abort));
    const fetched = new Response(lazyBody(response), {
      status: response.statusCode,
      statusText: response.statusMessage,
      headers: headersOf(response.rawHeaders),
    });
    // Copied into the `Response`, the list is not read again, yet the message would keep it (a string per
    // name and value) as long as the body streams: 12 for the bench model's 6 headers, about 40 for
    // OpenAI's. Node's agent still reads one header of the message when the body ends and frees the
    // socket; the message's `headers` would be built from the list then, so they are set now, to that one.
    const keepAlive = fetched.headers.get("keep-alive");
    response.headers = keepAlive === null ? {} : { "keep-alive": keepAlive };
    response.rawHeaders.length = 0;
    nodeBodies.set(fetched, response);
    settle?.resolve(fetched);
    settle = undefined;
  });
  request.on("error", (error) => {
    signal?.removeEventListener("abort", abort);
    settle?.reject(error);
    settle = undefined;
  });
  return answered;
}

/**
 * The response as a web stream that touches the Node stream only once read, holding nothing ahead of the
 * reader but what the socket delivered.
 */
function lazyBody(incoming: IncomingMessage): ReadableStream<Uint8Array> | null {
  if (incoming.statusCode === 204 || incoming.statusCode === 304) return null;
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (started) return;
        started = true;
        incoming.on("data", (chunk: Buffer) => controller.enqueue(new Uint8Array(chunk)));
        incoming.once("end", () => controller.close());
        incoming.once("error", (error) => controller.error(error));
      },
      cancel(reason) {
        incoming.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    // Nothing is read ahead: the Node stream stays untouched until someone reads this one.
    { highWaterMark: 0 },
  );
}

/** Headers from a flat list of names and values (the form of `rawHeaders`). */
function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}
