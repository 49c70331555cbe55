// The tables `npm run bench` prints.
import type { CompareResult, CompareRow } from "../scenarios/compare.js";
import type { MemoryRow } from "../scenarios/memory.js";
import type { QueryRow } from "../scenarios/queries.js";
import type { StreamingRow } from "../scenarios/streaming.js";
import { median } from "./stats.js";
import { SYSTEM_LABELS, type SystemName } from "./systems.js";

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...cells.slice(1).map(line),
  ].join("\n");
}

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : "–");
const ratio = (v: number, base: number | undefined) =>
  base !== undefined && base > 0 && Number.isFinite(v) ? `${(v / base).toFixed(2)}x` : "–";
const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MB` : "–");
const kb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : "–");
const whole = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en") : "–");
const label = (system: string) => SYSTEM_LABELS[system as SystemName] ?? system;

export function printStreaming(rows: StreamingRow[]): void {
  const base = (system: string, load: string) => rows.find((r) => r.system === system && r.load === load);
  console.log(
    "Streaming: added latency model → client, model chunks delivered, CPU per 1,000 chunks, database writes",
  );
  console.log(
    table(
      [
        "system",
        "load",
        "p50",
        "p99",
        "chunks/s",
        "events/s",
        "CPU ms / 1k chunks",
        "vs (a)",
        "vs (b)",
        "vs (c)",
        "PostgreSQL CPU ms / 1k chunks",
        "writes / reply",
        "writes / reply-second",
        "saved = streamed",
        "failed",
      ],
      rows.map((r) => {
        const a = base("raw", r.load);
        const b = base("graphql-sse", r.load);
        const c = base("seed", r.load);
        return [
          label(r.system),
          r.load,
          r.rate > 0 ? ms(r.p50Ms) : "–",
          r.rate > 0 ? ms(r.p99Ms) : "–",
          whole(r.chunksPerSecond),
          whole(r.eventsPerSecond),
          whole(r.cpuMsPer1kChunks),
          ratio(r.cpuMsPer1kChunks, a?.cpuMsPer1kChunks),
          ratio(r.cpuMsPer1kChunks, b?.cpuMsPer1kChunks),
          ratio(r.cpuMsPer1kChunks, c?.cpuMsPer1kChunks),
          whole(r.postgresCpuMsPer1kChunks),
          r.writesPerReply === null ? "–" : r.writesPerReply.toFixed(0),
          r.writesPerReplySecond === null ? "–" : r.writesPerReplySecond.toFixed(2),
          r.savedChecked ?? "–",
          r.inexact > 0 ? `${r.failed} (${r.inexact} inexact)` : r.failed,
        ];
      }),
    ),
  );
  const paced = rows.filter((r) => r.rate > 0 && r.system === "server");
  if (paced.length > 0) {
    console.log("\np50 / p99 latency of this server as a ratio to the baselines");
    console.log(
      table(
        ["load", "p50 vs (a)", "p99 vs (a)", "p50 vs (b)", "p99 vs (b)", "p50 vs (c)", "p99 vs (c)"],
        paced.map((r) => {
          const a = base("raw", r.load);
          const b = base("graphql-sse", r.load);
          const c = base("seed", r.load);
          return [
            r.load,
            ratio(r.p50Ms, a?.p50Ms),
            ratio(r.p99Ms, a?.p99Ms),
            ratio(r.p50Ms, b?.p50Ms),
            ratio(r.p99Ms, b?.p99Ms),
            ratio(r.p50Ms, c?.p50Ms),
            ratio(r.p99Ms, c?.p99Ms),
          ];
        }),
      ),
    );
  }
  console.log("");
}

export function printMemory(rows: MemoryRow[]): void {
  console.log("Memory with open streams (after a full collection)");
  console.log(
    table(
      [
        "system",
        "streams",
        "streaming at once",
        "RSS",
        "heap used",
        "RSS / stream",
        "heap / stream",
        "idle RSS",
        "failed",
      ],
      rows.map((r) => [
        label(r.system),
        r.streams.toLocaleString("en"),
        r.concurrent.toLocaleString("en"),
        mb(r.rss),
        mb(r.heapUsed),
        kb(r.rssPerStream),
        kb(r.heapPerStream),
        mb(r.idleRss),
        r.failed,
      ]),
    ),
  );
  console.log("");
}

export function printQueries(rows: QueryRow[]): void {
  console.log("Queries (through the app's fetch handler, in process, sequential)");
  console.log(
    table(
      ["database", "messages", "query", "p50", "p95"],
      rows.map((r) => [r.database, r.messages.toLocaleString("en"), r.query, ms(r.p50Ms), ms(r.p95Ms)]),
    ),
  );
  console.log("");
}

/** Each figure's median over the rounds of the compare scenario, per system and load. */
export function compareMedians(rows: CompareRow[], system: string, load: string) {
  const of = (pick: (r: CompareRow) => number) =>
    median(rows.filter((r) => r.system === system && r.load === load).map(pick));
  return {
    chunksPerSecond: of((r) => r.chunksPerSecond),
    cpuMsPer1kChunks: of((r) => r.cpuMsPer1kChunks),
    postgresCpuMsPer1kChunks: of((r) => r.postgresCpuMsPer1kChunks),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
    p99SteadyMs: of((r) => r.p99SteadyMs),
    firstTextP50Ms: of((r) => r.firstTextP50Ms),
    firstTextP99Ms: of((r) => r.firstTextP99Ms),
  };
}

/** The table of issue #15, and the rounds it was taken from. */
export function printCompare(result: CompareResult): void {
  const { rounds: rows, memory } = result;
  const count = new Set(rows.map((r) => r.round)).size;
  const systems = ["server", "seed", "raw"];
  const memoryRuns = Math.max(0, ...systems.map((s) => memory.filter((r) => r.system === s).length));
  console.log(
    `Rounds of the compare scenario (replies of 100 chunks; saturation: closed loops over a fixed window)`,
  );
  console.log(
    table(
      [
        "round",
        "system",
        "load",
        "streams",
        "completed",
        "chunks",
        "chunks/s",
        "CPU ms / 1k chunks",
        "PostgreSQL CPU ms / 1k chunks",
        "p50",
        "p99",
        "p99 after 1 s",
        "first text p50 / p99",
        "saved = streamed",
        "failed",
      ],
      rows.map((r) => [
        r.round,
        label(r.system),
        r.load,
        r.streams.toLocaleString("en"),
        r.completed.toLocaleString("en"),
        r.chunks.toLocaleString("en"),
        whole(r.chunksPerSecond),
        whole(r.cpuMsPer1kChunks),
        whole(r.postgresCpuMsPer1kChunks),
        ms(r.p50Ms),
        ms(r.p99Ms),
        ms(r.p99SteadyMs),
        Number.isFinite(r.firstTextP50Ms) ? `${ms(r.firstTextP50Ms)} / ${ms(r.firstTextP99Ms)}` : "–",
        r.savedChecked ?? "–",
        r.inexact > 0 ? `${r.failed} (${r.inexact} inexact)` : r.failed,
      ]),
    ),
  );
  console.log("");

  const m = (system: string, load: string) => compareMedians(rows, system, load);
  /** The system's memory figures, each the median over its processes. */
  const mem = (system: string) => {
    const mine = memory.filter((r) => r.system === system);
    if (mine.length === 0) return undefined;
    const of = (pick: (r: MemoryRow) => number) => median(mine.map(pick));
    return {
      idleRss: of((r) => r.idleRss),
      rssPerStream: of((r) => r.rssPerStream),
      heapPerStream: of((r) => r.heapPerStream),
    };
  };
  const pair = (a: string, b: string) => `${a} / ${b}`;
  // Each row: the cell of a system, and the ratios of this server to the seed and to the raw relay.
  const line = (what: string, cell: (system: string) => string, ratios: (base: string) => string) => [
    what,
    ...systems.map(cell),
    ratios("seed"),
    ratios("raw"),
  ];
  const twoRatios = (pick: (system: string) => [number, number]) => (base: string) => {
    const [x, y] = pick("server");
    const [bx, by] = pick(base);
    return pair(ratio(x, bx), ratio(y, by));
  };
  const saturation = (pickOne: (v: ReturnType<typeof compareMedians>) => number) => (system: string) =>
    [pickOne(m(system, "saturation 50")), pickOne(m(system, "saturation 200"))] as [number, number];
  const latency = (system: string) =>
    [m(system, "200 × 20 tok/s").p50Ms, m(system, "200 × 20 tok/s").p99Ms] as [number, number];
  const firstText = (system: string) =>
    [m(system, "200 × 20 tok/s").firstTextP50Ms, m(system, "200 × 20 tok/s").firstTextP99Ms] as [
      number,
      number,
    ];
  const memoryOf = (system: string) =>
    [mem(system)?.idleRss ?? Number.NaN, mem(system)?.rssPerStream ?? Number.NaN] as [number, number];
  const chunks = saturation((v) => v.chunksPerSecond);
  const cpu = saturation((v) => v.cpuMsPer1kChunks);
  const postgres = saturation((v) => v.postgresCpuMsPer1kChunks);
  const pacedCpu = (system: string) => m(system, "200 × 20 tok/s").cpuMsPer1kChunks;
  const pacedPostgres = (system: string) => m(system, "200 × 20 tok/s").postgresCpuMsPer1kChunks;

  console.log(
    `This server against the seed design and the raw relay (issue #15): medians of ${count} round${count === 1 ? "" : "s"}; memory: 1,000 open streams, medians of ${memoryRuns} process${memoryRuns === 1 ? "" : "es"}`,
  );
  console.log(
    table(
      ["", "this server", "seed design", "raw relay", "this server ÷ seed", "this server ÷ raw"],
      [
        line(
          "chunks/s at saturation, 50 / 200 streams",
          (s) => pair(whole(chunks(s)[0]), whole(chunks(s)[1])),
          twoRatios(chunks),
        ),
        line(
          "server CPU per 1,000 chunks (ms; saturation 50 / 200)",
          (s) => pair(whole(cpu(s)[0]), whole(cpu(s)[1])),
          twoRatios(cpu),
        ),
        line(
          "PostgreSQL CPU per 1,000 chunks (ms; saturation 50 / 200)",
          (s) => pair(whole(postgres(s)[0]), whole(postgres(s)[1])),
          twoRatios(postgres),
        ),
        line(
          "200 streams at 20 tok/s: added latency p50 / p99",
          (s) => pair(ms(latency(s)[0]), ms(latency(s)[1])),
          twoRatios(latency),
        ),
        line(
          "(200 streams at 20 tok/s: p99 of the chunks after the first second)",
          (s) => ms(m(s, "200 × 20 tok/s").p99SteadyMs),
          (base) => ratio(m("server", "200 × 20 tok/s").p99SteadyMs, m(base, "200 × 20 tok/s").p99SteadyMs),
        ),
        line(
          "(200 streams at 20 tok/s: time to the first text, p50 / p99)",
          (s) => pair(ms(firstText(s)[0]), ms(firstText(s)[1])),
          twoRatios(firstText),
        ),
        line(
          "idle RSS / per open stream (1,000 open)",
          (s) => pair(mb(memoryOf(s)[0]), kb(memoryOf(s)[1])),
          twoRatios(memoryOf),
        ),
        line(
          // RSS per stream varies by several KB from run to run with the same live heap (what V8 keeps
          // committed around it): the live heap tells a change in what a stream holds. Node systems only.
          "(live heap per open stream, after a full collection)",
          (s) => kb(mem(s)?.heapPerStream ?? Number.NaN),
          (base) => ratio(mem("server")?.heapPerStream ?? Number.NaN, mem(base)?.heapPerStream ?? Number.NaN),
        ),
        line(
          "(200 streams at 20 tok/s: server / PostgreSQL CPU per 1,000 chunks, ms)",
          (s) => pair(whole(pacedCpu(s)), whole(pacedPostgres(s))),
          twoRatios((s) => [pacedCpu(s), pacedPostgres(s)]),
        ),
      ],
    ),
  );
  const failed = rows.reduce((n, r) => n + r.failed, 0) + memory.reduce((n, r) => n + r.failed, 0);
  const inexact = rows.reduce((n, r) => n + r.inexact, 0);
  const checked = rows.filter((r) => r.savedChecked !== null);
  const equal = checked.reduce((n, r) => n + Number(r.savedChecked?.split("/")[0]), 0);
  const compared = checked.reduce((n, r) => n + Number(r.savedChecked?.split("/")[1]), 0);
  console.log(
    `checks: ${rows.reduce((n, r) => n + r.completed, 0).toLocaleString("en")} streams read to their end, ${inexact} with a text not exactly the model's; ${failed} failed; saved replies equal to the streamed text: ${equal}/${compared}`,
  );
  console.log("");
}
