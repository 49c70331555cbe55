// The tables `npm run bench` prints.
import type { MemoryRow } from "../scenarios/memory.js";
import type { QueryRow } from "../scenarios/queries.js";
import type { StreamingRow } from "../scenarios/streaming.js";
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
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const label = (system: string) => SYSTEM_LABELS[system as SystemName] ?? system;

export function printStreaming(rows: StreamingRow[]): void {
  const base = (system: string, load: string) => rows.find((r) => r.system === system && r.load === load);
  console.log("Streaming: added latency model → client, CPU per event, database writes");
  console.log(
    table(
      [
        "system",
        "load",
        "p50",
        "p99",
        "events/s",
        "CPU ms / 10k events",
        "vs (a)",
        "vs (b)",
        "+ PostgreSQL CPU",
        "writes / reply",
        "writes / reply-second",
        "failed",
      ],
      rows.map((r) => {
        const a = base("raw", r.load);
        const b = base("graphql-sse", r.load);
        return [
          label(r.system),
          r.load,
          r.rate > 0 ? ms(r.p50Ms) : "–",
          r.rate > 0 ? ms(r.p99Ms) : "–",
          Math.round(r.eventsPerSecond).toLocaleString("en"),
          r.cpuMsPer10kEvents.toFixed(0),
          ratio(r.cpuMsPer10kEvents, a?.cpuMsPer10kEvents),
          ratio(r.cpuMsPer10kEvents, b?.cpuMsPer10kEvents),
          r.system === "server" ? r.postgresCpuMsPer10kEvents.toFixed(0) : "–",
          r.writesPerReply === null ? "–" : r.writesPerReply.toFixed(0),
          r.writesPerReplySecond === null ? "–" : r.writesPerReplySecond.toFixed(2),
          r.failed,
        ];
      }),
    ),
  );
  const paced = rows.filter((r) => r.rate > 0 && r.system === "server");
  if (paced.length > 0) {
    console.log("\np50 / p99 latency of this server as a ratio to the baselines");
    console.log(
      table(
        ["load", "p50 vs (a)", "p99 vs (a)", "p50 vs (b)", "p99 vs (b)"],
        paced.map((r) => {
          const a = base("raw", r.load);
          const b = base("graphql-sse", r.load);
          return [
            r.load,
            ratio(r.p50Ms, a?.p50Ms),
            ratio(r.p99Ms, a?.p99Ms),
            ratio(r.p50Ms, b?.p50Ms),
            ratio(r.p99Ms, b?.p99Ms),
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
