// Streaming overhead (issues #3, #9 and #15): added latency from the model writing a chunk to the client
// reading it, at several concurrencies of paced replies; model chunks delivered per second and CPU per
// chunk at saturation; and database writes per reply. Every stream's text is checked to be exactly the
// model's, and for systems with a database, a sample of the saved replies against the streamed text.

import type { BenchContext } from "../lib/context.js";
import { type LoadResult, openConnections, runLoad } from "../lib/sse-client.js";
import { median, PostgresCpuSampler, quantile } from "../lib/stats.js";
import type { RunningSystem } from "../lib/systems.js";

/** One measured load on one system. */
export interface StreamingRow {
  system: string;
  load: string;
  streams: number;
  failed: number;
  tokensPerReply: number;
  rate: number;
  events: number;
  /** Model chunks whose text reached the clients. */
  chunks: number;
  p50Ms: number;
  p99Ms: number;
  eventsPerSecond: number;
  chunksPerSecond: number;
  cpuMsPer10kEvents: number;
  postgresCpuMsPer10kEvents: number;
  cpuMsPer1kChunks: number;
  /** CPU of the system's own database backends (NaN for systems without a database). */
  postgresCpuMsPer1kChunks: number;
  /** Streams whose text was not exactly the model's (also counted in `failed`). */
  inexact: number;
  /** Saved replies compared with the streamed text: "equal/compared", or null. */
  savedChecked: string | null;
  writesPerReply: number | null;
  writesPerReplySecond: number | null;
  firstError?: string;
}

/** Runs one load of `streams` replies of `tokens` chunks at `rate` per second on a system. */
export async function measureLoad(
  bench: BenchContext,
  system: RunningSystem,
  load: StreamingLoad,
): Promise<StreamingRow> {
  await bench.setScript({ tokens: load.tokens, rate: load.rate, size: 8 });
  const loadId = `${load.name}-${Date.now().toString(36)}`;
  await system.prepare(loadId, load.streams);
  await openConnections(system.baseUrl, load.streams);
  system.takeWrites();
  const cpuBefore = await system.child.stats();
  const postgres = system.database === null ? null : new PostgresCpuSampler(system.database);
  const result = await runLoad({
    baseUrl: system.baseUrl,
    count: load.streams,
    rampMs: load.rampMs,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: load.tokens,
    open: (i) => system.open(loadId, i),
    keepTexts: SAVED_SAMPLE,
  });
  const cpuAfter = await system.child.stats();
  const postgresMs = postgres === null ? Number.NaN : postgres.stop();
  // The server logs a reply's writes just after its last event: give the log a moment to arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const writes = system.takeWrites();
  for (const line of system.takeErrors()) process.stderr.write(`    server error: ${line}\n`);
  const savedChecked = await checkSaved(system, loadId, result);
  const replySeconds = load.rate > 0 ? load.tokens / load.rate : null;
  const cpuMs = cpuAfter.cpuMs - cpuBefore.cpuMs;
  const per10k = (ms: number) => (result.events > 0 ? (ms * 10_000) / result.events : Number.NaN);
  const per1k = (ms: number) => (result.chunks > 0 ? (ms * 1_000) / result.chunks : Number.NaN);
  return {
    system: system.name,
    load: load.name,
    streams: load.streams,
    failed: result.failed,
    tokensPerReply: load.tokens,
    rate: load.rate,
    events: result.events,
    chunks: result.chunks,
    p50Ms: median(result.latencies),
    p99Ms: quantile(result.latencies, 0.99),
    eventsPerSecond: (result.events * 1000) / result.wallMs,
    chunksPerSecond: (result.chunks * 1000) / result.wallMs,
    cpuMsPer10kEvents: per10k(cpuMs),
    postgresCpuMsPer10kEvents: per10k(postgresMs),
    cpuMsPer1kChunks: per1k(cpuMs),
    postgresCpuMsPer1kChunks: per1k(postgresMs),
    inexact: result.inexact,
    savedChecked,
    writesPerReply: writes.length > 0 ? median(writes) : null,
    writesPerReplySecond: writes.length > 0 && replySeconds ? median(writes) / replySeconds : null,
    firstError: result.firstError ?? (savedChecked?.startsWith("0/") ? "saved reply differs" : undefined),
  };
}

/** Streams per load whose saved reply is compared with the text they streamed. */
export const SAVED_SAMPLE = 20;

/**
 * Compares the replies a system saved with the text its streams delivered, for the sampled streams that
 * ended normally: "equal/compared" (null for systems without a database). Writes a line per difference.
 */
export async function checkSaved(
  system: RunningSystem,
  loadId: string,
  result: LoadResult,
): Promise<string | null> {
  if (!system.savedReply || result.texts.size === 0) return null;
  let equal = 0;
  for (const [index, text] of result.texts) {
    let saved = await system.savedReply(loadId, index);
    // A reply's final save may land just after its stream ended: look again once.
    if (saved !== text) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      saved = await system.savedReply(loadId, index);
    }
    if (saved === text) equal++;
    else
      process.stderr.write(
        `    ${system.name}: the saved reply of stream ${index} differs from the streamed text (${saved === null ? "none saved" : `${saved.length} characters saved, ${text.length} streamed`})\n`,
      );
  }
  return `${equal}/${result.texts.size}`;
}

/** A load of the streaming scenario. */
export interface StreamingLoad {
  name: string;
  /** What `--loads` calls it: the number of paced streams, `saturation` or `long`. */
  key: string;
  streams: number;
  tokens: number;
  rate: number;
  rampMs: number;
  /** Measured on this server only (what the baselines cannot show: database writes). */
  serverOnly?: boolean;
}

/** The loads of the streaming scenario, per system. */
export function streamingLoads(quick: boolean): StreamingLoad[] {
  // 200 streams is the figure issue #3 asks of this server; the baselines are compared at 1, 100, 1,000.
  const paced = quick ? [1, 100, 1000] : [1, 100, 200, 1000];
  const tokens = quick ? 60 : 100;
  return [
    { name: "warm-up", key: "warm-up", streams: 50, tokens: 50, rate: 0, rampMs: 0 },
    ...paced.map((streams) => ({
      name: `${streams} × 20 tok/s`,
      key: String(streams),
      streams,
      tokens,
      rate: 20,
      rampMs: Math.min(2_000, streams * 2),
      serverOnly: streams === 200,
    })),
    { name: "saturation", key: "saturation", streams: 100, tokens: quick ? 200 : 500, rate: 0, rampMs: 0 },
    ...(quick
      ? []
      : [
          {
            name: "10 × 500 tokens, 20 tok/s",
            key: "long",
            streams: 10,
            tokens: 500,
            rate: 20,
            rampMs: 0,
            serverOnly: true,
          },
        ]),
  ];
}
