// The benchmark's clients: many concurrent SSE readers on `node:http`, each timing every text chunk from
// the moment the model wrote it (the stamp at the start of the chunk) to the moment it arrived here.
import { Agent, request } from "node:http";
import { now, STAMP_LENGTH, sinceStamp } from "./clock.js";

/** How to open one stream on a system. */
export interface StreamRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What the streams of one load delivered. */
export interface LoadResult {
  streams: number;
  failed: number;
  /** SSE `next` events (or data events) received, of every type. */
  events: number;
  /** Text chunks received. */
  deltas: number;
  /** Added latency of every chunk, ms. */
  latencies: Float64Array;
  wallMs: number;
  /** Milliseconds from opening each stream to its first text chunk. */
  firstText: number[];
  firstError?: string;
}

// Connections are kept and reused between loads, as a reverse proxy keeps its upstream connections.
const agent = new Agent({
  keepAlive: true,
  maxSockets: Number.POSITIVE_INFINITY,
  maxFreeSockets: Number.POSITIVE_INFINITY,
});

/**
 * Opens `count` keep-alive connections to the system (one `GET /healthz` each, 200 at a time) before a
 * load, so that the load measures streams, not TCP accepts: a busy Node process accepts one connection per
 * event-loop turn (libuv), which turns a burst of thousands of new connections into a queue of seconds.
 * Behind a reverse proxy with upstream keep-alive, the server sees the same: few new connections.
 */
export async function openConnections(baseUrl: string, count: number): Promise<void> {
  // All at once: each request in flight holds its own connection, so `count` of them exist afterwards.
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(`${baseUrl}/healthz`, { agent }, (res) => {
            res.resume();
            res.on("end", resolve);
          });
          req.on("error", reject);
          req.end();
        }),
    ),
  );
}
const DELTA = '"delta":"';

/**
 * Opens `count` streams (spread evenly over `rampMs`), reads them to the end, and resolves once all have
 * ended. `offsetMs` turns the model's clock into this process's.
 */
export async function runLoad(options: {
  baseUrl: string;
  count: number;
  rampMs: number;
  offsetMs: number;
  expectedDeltas: number;
  open: (index: number) => StreamRequest;
  /** Told how many streams are receiving text (had their first chunk, not ended) whenever that changes. */
  onActive?: (active: number) => void;
  /** Ends every stream of the load at once (the result then counts what arrived until then). */
  signal?: AbortSignal;
}): Promise<LoadResult> {
  const latencies = new Float64Array(options.count * options.expectedDeltas);
  let samples = 0;
  let events = 0;
  let deltas = 0;
  let failed = 0;
  let active = 0;
  const firstText: number[] = [];
  let firstError: string | undefined;
  const started = now();

  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const spec = options.open(index);
      const opened = now();
      let buffered = "";
      let seen = false;
      let errored = false;
      let streaming = false;
      const fail = (why: string) => {
        failed++;
        firstError ??= `${why} (${seen ? "mid-stream" : "before the first bytes"}, ${Math.round(now() - started)} ms into the load)`;
        resolve();
      };
      const req = request(
        `${options.baseUrl}${spec.path}`,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            ...spec.headers,
          },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            fail(`HTTP ${res.statusCode}`);
            return;
          }
          res.setEncoding("utf8");
          res.on("data", (data: string) => {
            const at = now() - options.offsetMs;
            seen = true;
            buffered += data;
            let end = buffered.indexOf("\n\n");
            while (end !== -1) {
              const block = buffered.slice(0, end);
              buffered = buffered.slice(end + 2);
              end = buffered.indexOf("\n\n");
              if (!block.includes("data:") || block.startsWith("event: complete")) continue;
              if (block.includes('"errors"')) {
                errored = true;
                firstError ??= block.slice(0, 300);
              }
              events++;
              const at0 = block.indexOf(DELTA);
              if (at0 === -1) continue;
              deltas++;
              if (!streaming) {
                streaming = true;
                firstText.push(at + options.offsetMs - opened);
                options.onActive?.(++active);
              }
              const stamp = block.slice(at0 + DELTA.length, at0 + DELTA.length + STAMP_LENGTH);
              if (samples < latencies.length) latencies[samples++] = sinceStamp(stamp, at);
            }
          });
          res.on("close", () => {
            if (options.signal?.aborted) resolve();
          });
          res.on("end", () => {
            if (streaming) options.onActive?.(--active);
            if (errored) failed++;
            resolve();
          });
          res.on("error", (error) => (options.signal?.aborted ? resolve() : fail(error.message)));
        },
      );
      req.on("error", (error) => (options.signal?.aborted ? resolve() : fail(error.message)));
      options.signal?.addEventListener("abort", () => req.destroy(), { once: true });
      req.end(spec.body);
    });

  const streams: Promise<void>[] = [];
  for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
    const due = started + (options.rampMs * i) / options.count;
    const wait = due - now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    streams.push(one(i));
  }
  await Promise.all(streams);
  return {
    streams: options.count,
    failed,
    events,
    deltas,
    latencies: latencies.subarray(0, samples),
    wallMs: now() - started,
    firstText,
    firstError,
  };
}
