// Concurrency (issue #9): memory of one process holding many open streams, RSS and live heap, measured
// while every reply of the load is streaming at once, against the same process idle.
import type { BenchContext } from "../lib/context.js";
import type { ProcessStats } from "../lib/processes.js";
import { runLoad } from "../lib/sse-client.js";
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

const RAMP_MS = 5_000;
/** Chunks per reply, at 2 a second: 20 seconds, long enough for every reply of a load to stream at once. */
const TOKENS = 40;

export function memoryLoads(quick: boolean) {
  return quick ? [{ streams: 1_000 }] : [{ streams: 1_000 }, { streams: 5_000 }];
}

/**
 * Opens `streams` replies that stream slowly (2 chunks a second for 20 seconds, started over 5 seconds),
 * and reads the system's memory, after a full collection, once all of them are streaming at once.
 */
export async function measureMemory(
  bench: BenchContext,
  system: RunningSystem,
  load: { streams: number },
): Promise<MemoryRow> {
  await bench.setScript({ tokens: TOKENS, rate: 2, size: 8 });
  const loadId = `memory-${load.streams}-${Date.now().toString(36)}`;
  await system.prepare(loadId, load.streams);
  const idle = await system.child.stats(true);
  // Measured once every reply is streaming at the same time (or, if that never happens, at the most).
  let loaded: Promise<ProcessStats> | undefined;
  let peak = 0;
  let peakStats: Promise<ProcessStats> | undefined;
  const result = await runLoad({
    baseUrl: system.baseUrl,
    count: load.streams,
    rampMs: RAMP_MS,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: TOKENS,
    open: (i) => system.open(loadId, i),
    onActive: (active) => {
      if (active === load.streams && !loaded) loaded = system.child.stats(true);
      if (active > peak + load.streams / 20) {
        peak = active;
        peakStats = system.child.stats(true);
      }
    },
  });
  const stats = await (loaded ?? peakStats ?? system.child.stats(true));
  system.takeWrites();
  for (const line of system.takeErrors()) process.stderr.write(`    server error: ${line}\n`);
  return {
    system: system.name,
    streams: load.streams,
    failed: result.failed,
    idleRss: idle.rss,
    idleHeap: idle.heapUsed,
    concurrent: loaded ? load.streams : peak,
    rss: stats.rss,
    heapUsed: stats.heapUsed,
    rssPerStream: (stats.rss - idle.rss) / (loaded ? load.streams : peak),
    heapPerStream: (stats.heapUsed - idle.heapUsed) / (loaded ? load.streams : peak),
    firstError: result.firstError,
  };
}
