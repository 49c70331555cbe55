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
  firstError?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
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
}): Promise<LoadResult> {
  const latencies = new Float64Array(options.count * options.expectedDeltas);
  let samples = 0;
  let events = 0;
  let deltas = 0;
  let failed = 0;
  let active = 0;
  let firstError: string | undefined;
  const started = now();

  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const spec = options.open(index);
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
                options.onActive?.(++active);
              }
              const stamp = block.slice(at0 + DELTA.length, at0 + DELTA.length + STAMP_LENGTH);
              if (samples < latencies.length) latencies[samples++] = sinceStamp(stamp, at);
            }
          });
          res.on("end", () => {
            if (streaming) options.onActive?.(--active);
            if (errored) failed++;
            resolve();
          });
          res.on("error", (error) => fail(error.message));
        },
      );
      req.on("error", (error) => fail(error.message));
      req.end(spec.body);
    });

  const streams: Promise<void>[] = [];
  for (let i = 0; i < options.count; i++) {
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
    firstError,
  };
}
