// The table of issue #15 (`npm run bench -- --only compare`): this server against the seed design it
// replaced (FastAPI + SQLModel, bench/systems/seed) and against the floor, the node:http SSE relay, in one
// run. Replies of 100 chunks of 8 characters (`--tokens N`: N chunks):
//
//   - saturation, 50 and 200 streams: closed loops (each client opens its next stream as soon as its reply
//     ended, the model streaming as fast as it is read) over a window of 8 s (4 s with --quick), the
//     streams still open at its end cut: model chunks delivered per second, the server's CPU and its
//     PostgreSQL backends' CPU per 1,000 chunks;
//   - 200 streams at 20 chunks a second: the latency added between the model and the client, p50 and p99
//     over every chunk, the time from each request to its first text (and CPU per 1,000 chunks at that
//     load);
//   - memory: the process idle, then with 1,000 replies open at once (bench/scenarios/memory.ts).
//
// The three loads run in rounds (3; 2 with --quick), each round measuring every system one after the other
// (the order rotating), all systems running meanwhile, so that the machine's other work weighs on each
// alike; the table gives each figure's median over the rounds. Memory is measured once, on a fresh process.

import type { BenchContext } from "../lib/context.js";
import { openConnections, runClosedLoop, runLoad } from "../lib/sse-client.js";
import { median, PostgresCpuSampler, quantile } from "../lib/stats.js";
import type { RunningSystem, SystemName } from "../lib/systems.js";
import { type MemoryRow, measureMemory } from "./memory.js";
import { checkSaved, SAVED_SAMPLE } from "./streaming.js";

export const COMPARE_SYSTEMS: SystemName[] = ["server", "seed", "raw"];
/**
 * The paced load's first second holds its 200 sends (opened over 400 ms) and their first chunks; the p99 of
 * the chunks after it tells streaming apart from the cost of starting replies.
 */
const STEADY_AFTER_MS = 1_000;

/** The loads of the scenario, by the names `--loads` takes. */
export const COMPARE_LOADS = {
  saturation50: "saturation 50",
  saturation200: "saturation 200",
  paced: "200 × 20 tok/s",
} as const;

export interface CompareRow {
  system: SystemName;
  load: CompareLoadName;
  round: number;
  /** Streams opened (closed loops: in the window, including those cut at its end). */
  streams: number;
  completed: number;
  failed: number;
  inexact: number;
  chunks: number;
  wallMs: number;
  chunksPerSecond: number;
  cpuMsPer1kChunks: number;
  postgresCpuMsPer1kChunks: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of the chunks that arrived after the load's first second: streaming once the sends are in. */
  p99SteadyMs: number;
  /**
   * From a stream's request to its first text (the send, the model's first chunk, the way back), p50 and
   * p99: what making the stream's events go first may cost the replies being started.
   */
  firstTextP50Ms: number;
  firstTextP99Ms: number;
  savedChecked: string | null;
  firstError?: string;
}

export type CompareLoadName = "saturation 50" | "saturation 200" | "200 × 20 tok/s";

export interface CompareResult {
  rounds: CompareRow[];
  memory: MemoryRow[];
}

/** A closed loop of `concurrency` streams over `durationMs`. */
async function saturation(
  bench: BenchContext,
  system: RunningSystem,
  concurrency: number,
  durationMs: number,
  round: number,
): Promise<CompareRow> {
  await bench.setScript({ tokens: bench.replyChunks, rate: 0, size: 8 });
  const loadId = `sat${concurrency}-${round}-${Date.now().toString(36)}`;
  await openConnections(system.baseUrl, concurrency);
  const before = await system.child.stats();
  const postgres = system.database === null ? null : new PostgresCpuSampler(system.database);
  let cpuMs = 0;
  let postgresMs = Number.NaN;
  const result = await runClosedLoop({
    baseUrl: system.baseUrl,
    concurrency,
    durationMs,
    maxStreams: 50_000,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: bench.replyChunks,
    open: (i) => system.open(loadId, i),
    atEnd: async () => {
      cpuMs = (await system.child.stats()).cpuMs - before.cpuMs;
      postgresMs = postgres === null ? Number.NaN : postgres.stop();
    },
  });
  // The streams cut at the end of the window are cancelled by the system: let it settle before the next.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  for (const line of system.takeErrors()) process.stderr.write(`    server error: ${line}\n`);
  system.takeWrites();
  return {
    system: system.name,
    load: concurrency === 50 ? "saturation 50" : "saturation 200",
    round,
    streams: result.streams,
    completed: result.completed,
    failed: result.failed,
    inexact: result.inexact,
    chunks: result.chunks,
    wallMs: result.wallMs,
    chunksPerSecond: (result.chunks * 1000) / result.wallMs,
    cpuMsPer1kChunks: (cpuMs * 1000) / result.chunks,
    postgresCpuMsPer1kChunks: (postgresMs * 1000) / result.chunks,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    p99SteadyMs: Number.NaN,
    firstTextP50Ms: Number.NaN,
    firstTextP99Ms: Number.NaN,
    savedChecked: null,
    firstError: result.firstError,
  };
}

/** 200 replies at 20 chunks a second, opened over 400 ms (as in the streaming scenario). */
async function paced(bench: BenchContext, system: RunningSystem, round: number): Promise<CompareRow> {
  const streams = 200;
  await bench.setScript({ tokens: bench.replyChunks, rate: 20, size: 8 });
  const loadId = `paced200-${round}-${Date.now().toString(36)}`;
  await system.prepare(loadId, streams);
  await openConnections(system.baseUrl, streams);
  const before = await system.child.stats();
  const postgres = system.database === null ? null : new PostgresCpuSampler(system.database);
  const result = await runLoad({
    baseUrl: system.baseUrl,
    count: streams,
    rampMs: 400,
    offsetMs: bench.modelOffsetMs,
    expectedDeltas: bench.replyChunks,
    open: (i) => system.open(loadId, i),
    keepTexts: SAVED_SAMPLE,
  });
  const cpuMs = (await system.child.stats()).cpuMs - before.cpuMs;
  const postgresMs = postgres === null ? Number.NaN : postgres.stop();
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const line of system.takeErrors()) process.stderr.write(`    server error: ${line}\n`);
  system.takeWrites();
  const savedChecked = await checkSaved(system, loadId, result);
  return {
    system: system.name,
    load: "200 × 20 tok/s",
    round,
    streams,
    completed: result.completed,
    failed: result.failed,
    inexact: result.inexact,
    chunks: result.chunks,
    wallMs: result.wallMs,
    chunksPerSecond: (result.chunks * 1000) / result.wallMs,
    cpuMsPer1kChunks: (cpuMs * 1000) / result.chunks,
    postgresCpuMsPer1kChunks: (postgresMs * 1000) / result.chunks,
    p50Ms: median(result.latencies),
    p99Ms: quantile(result.latencies, 0.99),
    p99SteadyMs: quantile(
      result.latencies.filter((_, i) => (result.arrivals[i] as number) >= STEADY_AFTER_MS),
      0.99,
    ),
    firstTextP50Ms: median(result.firstText),
    firstTextP99Ms: quantile(result.firstText, 0.99),
    savedChecked,
    firstError: result.firstError,
  };
}

/**
 * Runs the compare scenario on the systems given (of server, seed, raw), started with `start` (once for
 * the rounds, all at the same time; again, one at a time, for memory).
 */
export async function measureCompare(
  bench: BenchContext,
  names: SystemName[],
  start: (name: SystemName) => Promise<RunningSystem>,
  progress: (what: string, failed: number, error: string | undefined) => void,
  /** Some of the loads (`--loads`: saturation50, saturation200, paced, memory); null: all of them. */
  only: ReadonlySet<string> | null = null,
): Promise<CompareResult> {
  const loads = (Object.keys(COMPARE_LOADS) as (keyof typeof COMPARE_LOADS)[])
    .filter((key) => only === null || only.has(key))
    .map((key) => COMPARE_LOADS[key]);
  const rounds = bench.quick ? 2 : 3;
  const windowMs = bench.quick ? 4_000 : 8_000;
  const rows: CompareRow[] = [];
  const systems: RunningSystem[] = [];
  try {
    for (const name of names) systems.push(await start(name));
    // Warm-up, not recorded: 200 streams in a closed loop for a few seconds on each system, so that its
    // pools (20 database connections, connections to the model) are full and its code paths warm.
    for (const system of systems) {
      await saturation(bench, system, 200, bench.quick ? 2_000 : 3_000, 0);
      system.takeErrors();
    }
    for (let round = 1; round <= rounds; round++) {
      const order = systems.map((_, i) => systems[(i + round - 1) % systems.length] as RunningSystem);
      for (const load of loads) {
        for (const system of order) {
          const row =
            load === "200 × 20 tok/s"
              ? await paced(bench, system, round)
              : await saturation(bench, system, load === "saturation 50" ? 50 : 200, windowMs, round);
          rows.push(row);
          progress(
            `round ${round}, ${system.name}: ${load}: ${Math.round(row.chunksPerSecond).toLocaleString("en")} chunks/s${row.savedChecked ? `, saved replies equal to the streamed text: ${row.savedChecked}` : ""}`,
            row.failed,
            row.firstError,
          );
        }
      }
    }
  } finally {
    for (const system of systems) await system.stop();
  }

  // Memory per stream moves by several KB from one process to the next (the idle reading most): the load
  // runs in as many processes as there are rounds, each started for it, and the report takes the medians.
  const memory: MemoryRow[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const name of only === null || only.has("memory") ? names : []) {
      const system = await start(name);
      try {
        const row = await measureMemory(bench, system, { streams: 1_000 });
        memory.push(row);
        progress(`round ${round}, ${name}: 1,000 open streams`, row.failed, row.firstError);
      } finally {
        await system.stop();
      }
    }
  }
  return { rounds: rows, memory };
}
