// The benchmark's clients: many concurrent SSE readers on `node:http`, each timing every model chunk from
// the moment the model wrote it (the stamp at the start of the chunk) to the moment it arrived here, and
// checking that each stream's text is exactly the model's: every chunk, whole, in order, once.
//
// Chunks, not SSE events, are what is counted: a system may send several model chunks in one event (or
// events that carry no text), so throughput is "model chunks whose text reached the client". Each system's
// text events are read the same way: the string after `"delta":"` (the baselines (a) and (b), this server's
// `TextDelta`), or the JSON string after `data: ` (the seed design, `data: "<text>"`, ended by `data: [DONE]`).
import { setMaxListeners } from "node:events";
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
  /** Streams opened. */
  streams: number;
  /** Streams that ended with an error, or whose text was not exact. */
  failed: number;
  /** Of those, streams that ended normally with a text that is not the model's (also in `failed`). */
  inexact: number;
  /** Streams read to their end (not cut by the load's end). */
  completed: number;
  /** SSE `next` events (or data events) received, of every type. */
  events: number;
  /** SSE events that carried text. */
  deltas: number;
  /** Model chunks whose text reached the client, whole. */
  chunks: number;
  /** Added latency of every chunk, ms. */
  latencies: Float64Array;
  /** When each of those chunks arrived, ms after the load started (same order as `latencies`). */
  arrivals: Float64Array;
  wallMs: number;
  /** Milliseconds from opening each stream to its first text chunk. */
  firstText: number[];
  /** The whole text of the streams `keepTexts` asked for, by index (completed streams only). */
  texts: Map<number, string>;
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
const SEED_DATA = 'data: "';

/** The text an SSE event carries, or null (no text; or a string that does not end: also null). */
export function textOf(block: string): string | null {
  let start = block.indexOf(DELTA);
  if (start !== -1) start += DELTA.length;
  else {
    start = block.indexOf(SEED_DATA);
    if (start === -1) return null;
    start += SEED_DATA.length;
  }
  // The closing quote: the first one not escaped by an odd number of backslashes.
  let end = start;
  for (;;) {
    end = block.indexOf('"', end);
    if (end === -1) return null;
    let slashes = 0;
    while (end - 1 - slashes >= start && block.charCodeAt(end - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) break;
    end++;
  }
  const raw = block.slice(start, end);
  return raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
}

const STAMP_MODULUS = 36 ** STAMP_LENGTH;

interface Options {
  baseUrl: string;
  offsetMs: number;
  /** Chunks each reply has, from the model (a stream with another number is not exact). */
  expectedDeltas: number;
  /** Characters per model chunk: the stamp, then `x` up to this length (bench/lib/model-server.ts). */
  chunkSize?: number;
  open: (index: number) => StreamRequest | Promise<StreamRequest>;
  /** Told how many streams are receiving text (had their first chunk, not ended) whenever that changes. */
  onActive?: (active: number) => void;
  /** Ends every stream of the load at once (the result then counts what arrived until then). */
  signal?: AbortSignal;
  /** Keeps the text of the streams with an index below this (to compare with what the system saved). */
  keepTexts?: number;
}

/** Reads streams and adds up what they delivered. */
class Reader {
  latencies: Float64Array;
  arrivals: Float64Array;
  samples = 0;
  events = 0;
  deltas = 0;
  chunks = 0;
  failed = 0;
  inexact = 0;
  completed = 0;
  active = 0;
  opened = 0;
  readonly firstText: number[] = [];
  readonly texts = new Map<number, string>();
  firstError: string | undefined;
  readonly started = now();
  private readonly size: number;
  private readonly form: RegExp;

  constructor(
    private readonly options: Options,
    capacity: number,
  ) {
    this.latencies = new Float64Array(capacity);
    this.arrivals = new Float64Array(capacity);
    this.size = options.chunkSize ?? 8;
    this.form = new RegExp(`^[0-9a-z]{${STAMP_LENGTH}}x{${this.size - STAMP_LENGTH}}$`);
  }

  read(index: number): Promise<void> {
    const options = this.options;
    this.opened++;
    return new Promise<void>((resolve) => {
      const opened = now();
      let buffered = "";
      let seen = false;
      let errored = false;
      let streaming = false;
      let done = false;
      // The stream's text as checked so far: whole chunks counted, a partial one pending.
      let pending = "";
      let chunks = 0;
      let lastStamp = -1;
      let wrong: string | undefined;
      const keep = index < (options.keepTexts ?? 0);
      let text = "";
      const fail = (why: string) => {
        if (done) return;
        done = true;
        this.failed++;
        this.firstError ??= `${why} (${seen ? "mid-stream" : "before the first bytes"}, ${Math.round(now() - this.started)} ms into the load)`;
        resolve();
      };
      const received = (delta: string, at: number) => {
        if (keep) text += delta;
        pending += delta;
        while (pending.length >= this.size) {
          const chunk = pending.slice(0, this.size);
          pending = pending.slice(this.size);
          if (!this.form.test(chunk)) {
            wrong ??= `a chunk not the model's: ${JSON.stringify(chunk)}`;
            continue;
          }
          const stamp = chunk.slice(0, STAMP_LENGTH);
          const value = Number.parseInt(stamp, 36);
          // Stamps of one reply never decrease (except where the clock wraps, every 21 hours).
          if (value < lastStamp && lastStamp - value < STAMP_MODULUS / 2) wrong ??= "chunks out of order";
          lastStamp = value;
          chunks++;
          this.chunks++;
          if (this.samples < this.latencies.length) {
            this.arrivals[this.samples] = at + this.options.offsetMs - this.started;
            this.latencies[this.samples++] = sinceStamp(stamp, at);
          }
        }
      };
      const run = async () => {
        const spec = await options.open(index);
        if (options.signal?.aborted) {
          resolve();
          return;
        }
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
                if (block === "data: [DONE]") continue;
                if (block.includes('"errors"')) {
                  errored = true;
                  this.firstError ??= block.slice(0, 300);
                }
                this.events++;
                const delta = textOf(block);
                if (delta === null) continue;
                this.deltas++;
                if (!streaming) {
                  streaming = true;
                  this.firstText.push(at + options.offsetMs - opened);
                  options.onActive?.(++this.active);
                }
                received(delta, at);
              }
            });
            res.on("close", () => {
              options.signal?.removeEventListener("abort", cancel);
              if (options.signal?.aborted && !done) {
                done = true;
                resolve();
              }
            });
            res.on("end", () => {
              if (done) return;
              done = true;
              if (streaming) options.onActive?.(--this.active);
              this.completed++;
              if (errored) this.failed++;
              else if (wrong !== undefined || pending !== "" || chunks !== options.expectedDeltas) {
                this.failed++;
                this.inexact++;
                this.firstError ??= `text not exact: ${wrong ?? `${chunks} whole chunks of ${options.expectedDeltas}${pending ? `, ${JSON.stringify(pending)} left over` : ""}`}`;
              } else if (keep) this.texts.set(index, text);
              resolve();
            });
            res.on("error", (error) => (options.signal?.aborted ? resolve() : fail(error.message)));
          },
        );
        req.on("error", (error) => {
          options.signal?.removeEventListener("abort", cancel);
          if (options.signal?.aborted) resolve();
          else fail(error.message);
        });
        const cancel = () => req.destroy();
        options.signal?.addEventListener("abort", cancel, { once: true });
        req.end(spec.body);
      };
      run().catch((error: unknown) => fail(String(error)));
    });
  }

  result(streams: number): LoadResult {
    return {
      streams,
      failed: this.failed,
      inexact: this.inexact,
      completed: this.completed,
      events: this.events,
      deltas: this.deltas,
      chunks: this.chunks,
      latencies: this.latencies.subarray(0, this.samples),
      arrivals: this.arrivals.subarray(0, this.samples),
      wallMs: now() - this.started,
      firstText: this.firstText,
      texts: this.texts,
      firstError: this.firstError,
    };
  }
}

/**
 * Opens `count` streams (spread evenly over `rampMs`), reads them to the end, and resolves once all have
 * ended. `offsetMs` turns the model's clock into this process's.
 */
export async function runLoad(options: Options & { count: number; rampMs: number }): Promise<LoadResult> {
  const reader = new Reader(options, options.count * options.expectedDeltas);
  const streams: Promise<void>[] = [];
  for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
    const due = reader.started + (options.rampMs * i) / options.count;
    const wait = due - now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    streams.push(reader.read(i));
  }
  await Promise.all(streams);
  return reader.result(options.count);
}

/**
 * A closed loop: `concurrency` clients, each opening a stream as soon as its previous one ended, for
 * `durationMs` (and at most `maxStreams` streams in all). At the end, `atEnd` runs (to read the server's
 * CPU at that moment), then what was delivered is counted and the streams still open are cut: the result
 * covers exactly the window in which `concurrency` streams were open.
 */
export async function runClosedLoop(
  options: Options & {
    concurrency: number;
    durationMs: number;
    maxStreams: number;
    atEnd: () => Promise<void>;
  },
): Promise<LoadResult> {
  const cut = new AbortController();
  setMaxListeners(0, cut.signal); // one listener per open stream
  const reader = new Reader({ ...options, signal: cut.signal }, options.maxStreams * options.expectedDeltas);
  let next = 0;
  const client = async () => {
    while (!cut.signal.aborted && next < options.maxStreams) await reader.read(next++);
  };
  const clients = Array.from({ length: options.concurrency }, client);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  await options.atEnd();
  const result = reader.result(next);
  cut.abort();
  await Promise.all(clients);
  return result;
}
