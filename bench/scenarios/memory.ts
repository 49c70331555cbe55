// Concurrency (issues #9 and #15): memory of one process holding many open streams, RSS and live heap
// (Node processes; the seed design's Python process: RSS from /proc), measured while every reply of the
// load is streaming at once, against the same process idle.
import { setMaxListeners } from "node:events";
import type { BenchContext } from "../lib/context.js";
import type { ProcessStats } from "../lib/processes.js";
import { openConnections, runLoad } from "../lib/sse-client.js";
import { median, quantile } from "../lib/stats.js";
import type { RunningSystem } from "../lib/systems.js";

export interface MemoryRow {
  system: string;
  streams: number;
  /** Replies streaming at once when memory was read. */
  concurrent: number;
  failed: number;
  idleRss: number;
  idleHeap: number;
  rss: number;
  heapUsed: number;
  rssPerStream: number;
  heapPerStream: number;
  firstError?: string;
}

/** Streams are opened at this pace (this server sustains about 130 sends a second here). */
const OPENS_PER_SECOND = 100;
/** One chunk every 5 seconds: thousands of open replies then stream a few thousand events a second. */
const RATE = 0.2;

export function memoryLoads(quick: boolean) {
  return quick ? [{ streams: 1_000 }] : [{ streams: 1_000 }, { streams: 5_000 }];
}

/**
 * Opens `streams` replies that stream slowly, and reads the system's memory, after a full collection, once
 * all of them are streaming at once.
 */
export async function measureMemory(
  bench: BenchContext,
  system: RunningSystem,
  load: { streams: number },
): Promise<MemoryRow> {
  const rampMs = (load.streams * 1000) / OPENS_PER_SECOND;
  // Replies outlast the ramp by 30 seconds; memory is read once all stream at once, or 25 seconds after
  // the ramp at the latest, and then the load is cut short.
  const tokens = Math.ceil((rampMs / 1000 + 30) * RATE);
  await bench.setScript({ tokens, rate: RATE, size: 8 });
  const loadId = `memory-${load.streams}-${Date.now().toString(36)}`;
  await system.prepare(loadId, load.streams);
  await openConnections(system.baseUrl, load.streams);
  const idle = await system.child.stats(true);
  const cut = new AbortController();
  setMaxListeners(0, cut.signal); // one listener per stream of the load
  let loaded: Promise<ProcessStats> | undefined;
  let peak = 0;
  const measure = () => {
    loaded ??= system.child.stats(true).finally(() => cut.abort());
  };
  const deadline = setTimeout(measure, rampMs + 25_000);
  const result = await runLoad({
    baseUrl: system.baseUrl,
    count: load.streams,
    rampMs,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: tokens,
    open: (i) => system.open(loadId, i),
    signal: cut.signal,
    onActive: (active) => {
      peak = Math.max(peak, active);
      if (active === load.streams) measure();
    },
  });
  clearTimeout(deadline);
  const stats = await (loaded ?? system.child.stats(true));
  const after = await system.child.stats();
  // (Measured from inside Node processes only; the seed design's Python process is read from /proc.)
  if (Number.isFinite(after.loopBusy))
    process.stderr.write(
      `    event loop during the load: ${(after.loopBusy * 100).toFixed(0)} % busy, delay p99 ${after.loopDelayP99.toFixed(0)} ms, max ${after.loopDelayMax.toFixed(0)} ms\n`,
    );
  process.stderr.write(
    `    first text after ${median(result.firstText).toFixed(0)} ms (p50), ${quantile(result.firstText, 0.99).toFixed(0)} ms (p99)\n`,
  );
  system.takeWrites();
  for (const line of system.takeErrors()) process.stderr.write(`    server error: ${line}\n`);
  return {
    system: system.name,
    streams: load.streams,
    failed: result.failed,
    idleRss: idle.rss,
    idleHeap: idle.heapUsed,
    concurrent: peak,
    rss: stats.rss,
    heapUsed: stats.heapUsed,
    rssPerStream: (stats.rss - idle.rss) / peak,
    heapPerStream: (stats.heapUsed - idle.heapUsed) / peak,
    firstError: result.firstError,
  };
}
