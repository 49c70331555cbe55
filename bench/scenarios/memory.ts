// Concurrency (issue #9): memory of one process holding many open streams, RSS and live heap, measured
// once every stream has received its first chunk, against the same process idle.
import type { BenchContext } from "../lib/context.js";
import { runLoad } from "../lib/sse-client.js";
import type { RunningSystem } from "../lib/systems.js";

export interface MemoryRow {
  system: string;
  streams: number;
  failed: number;
  idleRss: number;
  idleHeap: number;
  rss: number;
  heapUsed: number;
  rssPerStream: number;
  heapPerStream: number;
  firstError?: string;
}

export function memoryLoads(quick: boolean) {
  return quick ? [{ streams: 1_000 }] : [{ streams: 1_000 }, { streams: 5_000 }];
}

/**
 * Opens `streams` replies that stream slowly (2 chunks a second for 12 seconds, started over 5 seconds),
 * so all are open at once, and reads the system's memory after a full collection once all have started.
 */
export async function measureMemory(
  bench: BenchContext,
  system: RunningSystem,
  load: { streams: number },
): Promise<MemoryRow> {
  const tokens = 24;
  await bench.setScript({ tokens, rate: 2, size: 8 });
  const loadId = `memory-${load.streams}-${Date.now().toString(36)}`;
  await system.prepare(loadId, load.streams);
  const idle = await system.child.stats(true);
  let loaded = idle;
  const result = await runLoad({
    baseUrl: system.baseUrl,
    count: load.streams,
    rampMs: 5_000,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: tokens,
    open: (i) => system.open(loadId, i),
    onAllOpen: async () => {
      loaded = await system.child.stats(true);
    },
  });
  system.takeWrites();
  return {
    system: system.name,
    streams: load.streams,
    failed: result.failed,
    idleRss: idle.rss,
    idleHeap: idle.heapUsed,
    rss: loaded.rss,
    heapUsed: loaded.heapUsed,
    rssPerStream: (loaded.rss - idle.rss) / load.streams,
    heapPerStream: (loaded.heapUsed - idle.heapUsed) / load.streams,
    firstError: result.firstError,
  };
}
