// `npm run bench`: the benchmark suite of issues #9 and #15. Starts a fake OpenAI-compatible model server
// and, one after the other, the baselines and this server (each its own process), drives them with SSE
// clients from this process, prints the tables and writes the figures to bench/results/latest.json.
//
//   npm run bench                               every scenario but compare (about 10 minutes here)
//   npm run bench -- --quick                    shorter replies, fewer loads
//   npm run bench -- --only streaming,memory    some scenarios (streaming, memory, queries, search, compare)
//   npm run bench -- --only compare             issue #15's table: this server, the seed design and the
//                                               raw relay in rounds (about 7 minutes; also --table seed)
//   npm run bench -- --reseed                   seed the 1,000,000-message page database again
//   npm run bench -- --systems server           some systems (raw, graphql-sse, seed, server)
//   npm run bench -- --loads 100,saturation     some streaming loads (1, 100, 200, 1000, saturation, long);
//                                               for compare: saturation50, saturation200, paced, memory
//   npm run bench -- --only compare --tokens 10 compare with replies of 10 chunks instead of 100 (a reply's
//                                               fixed cost against its cost per chunk)
//   npm run bench -- --profile                  this server with --cpu-prof (profiles in bench/results/)
//   BENCH_SERVER_NODE_OPTIONS="--trace-gc" BENCH_SERVER_LOG=/tmp/server.log npm run bench -- …
//                                               this server with more Node options, its whole log kept
//
// PostgreSQL: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the server
// where the databases bench_stream, bench_seed (and bench_pages) are recreated (BENCH_DATABASE_SUFFIX, e.g.
// _a, is added to the first two, for benches run at once). The seed design runs on
// Debian's Python: bench/systems/seed/install.sh installs its packages.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import type { BenchContext } from "./lib/context.js";
import type { ModelScript } from "./lib/model-server.js";
import { Child, seedRuntime } from "./lib/processes.js";
import { printCompare, printMemory, printQueries, printStreaming } from "./lib/report.js";
import {
  SYSTEM_DATABASES,
  SYSTEM_LABELS,
  SYSTEM_NAMES,
  type SystemName,
  startSystem,
} from "./lib/systems.js";
import { COMPARE_SYSTEMS, type CompareResult, measureCompare } from "./scenarios/compare.js";
import { type MemoryRow, measureMemory, memoryLoads } from "./scenarios/memory.js";
import { measureQueries, type QueryRow } from "./scenarios/queries.js";
import { measureSearch } from "./scenarios/search.js";
import { measureLoad, type StreamingRow, streamingLoads } from "./scenarios/streaming.js";

const { values: options } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    tokens: { type: "string", default: "100" },
    only: { type: "string", default: "streaming,memory,queries,search" },
    systems: { type: "string", default: "raw,graphql-sse,seed,server" },
    table: { type: "string" },
    loads: { type: "string" },
    profile: { type: "boolean", default: false },
    reseed: { type: "boolean", default: false },
  },
});
/** `--tokens`: a whole number of chunks, at least one. */
function replyChunks(value: string): number {
  const chunks = Number(value);
  if (!Number.isInteger(chunks) || chunks < 1)
    throw new Error(`--tokens ${value}: a whole number of chunks, at least 1`);
  return chunks;
}

const scenarios = new Set(options.table === "seed" ? ["compare"] : options.only.split(","));
const systems = options.systems.split(",") as SystemName[];
for (const name of systems)
  if (!SYSTEM_NAMES.includes(name)) throw new Error(`unknown system ${name} (${SYSTEM_NAMES.join(", ")})`);
// The seed design needs Debian's Python packages: say so before anything runs.
if (
  systems.includes("seed") &&
  (scenarios.has("streaming") || scenarios.has("memory") || scenarios.has("compare"))
)
  seedRuntime();
const loads = options.loads === undefined ? null : new Set(["warm-up", ...options.loads.split(",")]);
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const resultsDir = new URL("./results/", import.meta.url);

async function recreateDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync(resultsDir, { recursive: true });
  const machine = {
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? "?"}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadBefore: loadavg()[0],
  };
  console.log(`machine: ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  console.log(`load average at start: ${machine.loadBefore?.toFixed(2)}\n`);

  // The server is measured as production runs it: `node dist/server.js`, built from this tree.
  execFileSync(process.execPath, [fileURLToPath(new URL("../scripts/build.mjs", import.meta.url))], {
    stdio: "inherit",
  });
  const model = Child.start("model", "bench/lib/model-server.ts");
  const { port } = await model.receive<{ port: number }>("ready");
  await model.calibrate();
  const bench: BenchContext = {
    modelUrl: `http://127.0.0.1:${port}`,
    modelOffsetMs: model.offsetMs,
    setScript: async (script: ModelScript) => {
      await model.ask({ type: "script", script }, "script-set");
    },
    databaseUrl: "",
    quick: options.quick,
    replyChunks: replyChunks(options.tokens),
  };
  // The measured server's Node options: a CPU profile (--profile) and any the caller adds.
  const serverNodeOptions = [
    ...(options.profile ? ["--cpu-prof", `--cpu-prof-dir=${resultsDir.pathname}`] : []),
    ...(process.env.BENCH_SERVER_NODE_OPTIONS?.split(" ").filter(Boolean) ?? []),
  ];
  const streaming: StreamingRow[] = [];
  const memory: MemoryRow[] = [];
  let compare: CompareResult | null = null;
  let queries: QueryRow[] = [];
  let search = "";
  try {
    if (scenarios.has("streaming") || scenarios.has("memory")) {
      for (const name of systems) {
        const database = SYSTEM_DATABASES[name];
        bench.databaseUrl = database ? await recreateDatabase(database) : "";
        const start = () =>
          startSystem(name, bench.modelUrl, {
            databaseUrl: bench.databaseUrl,
            nodeOptions: name === "server" ? serverNodeOptions : [],
          });
        if (scenarios.has("streaming")) {
          const system = await start();
          try {
            for (const load of streamingLoads(options.quick)) {
              if (load.serverOnly && name !== "server") continue;
              if (loads !== null && !loads.has(load.key)) continue;
              const row = await measureLoad(bench, system, load);
              if (load.name !== "warm-up") streaming.push(row);
              progress(`${SYSTEM_LABELS[name]}: ${load.name}`, row.failed, row.firstError);
            }
          } finally {
            await system.stop();
          }
        }
        // Each memory load on a fresh process, so that what an earlier load left does not count.
        if (scenarios.has("memory")) {
          for (const load of memoryLoads(options.quick)) {
            const system = await start();
            try {
              const row = await measureMemory(bench, system, load);
              memory.push(row);
              progress(`${SYSTEM_LABELS[name]}: ${load.streams} open streams`, row.failed, row.firstError);
            } finally {
              await system.stop();
            }
          }
        }
      }
    }
    if (scenarios.has("compare")) {
      const names = COMPARE_SYSTEMS.filter((name) => systems.includes(name));
      compare = await measureCompare(
        bench,
        names,
        async (name) => {
          const database = SYSTEM_DATABASES[name];
          return startSystem(name, bench.modelUrl, {
            databaseUrl: database ? await recreateDatabase(database) : "",
            nodeOptions: name === "server" ? serverNodeOptions : [],
          });
        },
        progress,
        loads,
      );
    }
    if (scenarios.has("queries")) queries = await measureQueries(adminUrl, options.quick, options.reseed);
    if (scenarios.has("search")) search = await measureSearch(adminUrl, options.quick);
  } finally {
    await model.stop();
  }

  console.log("");
  if (streaming.length > 0) printStreaming(streaming);
  if (memory.length > 0) printMemory(memory);
  if (compare !== null) printCompare(compare);
  if (queries.length > 0) printQueries(queries);
  if (search) console.log(`Search (bench/search.ts on PostgreSQL)\n${search}`);
  const elapsed = (Date.now() - started) / 1000;
  console.log(`\nload average at end: ${loadavg()[0]?.toFixed(2)}; ${elapsed.toFixed(0)} s in all`);
  const file = new URL("latest.json", resultsDir);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine, elapsedSeconds: elapsed, streaming, memory, compare, queries, search }, null, 2)}\n`,
  );
  console.log(`figures written to ${file.pathname}`);
}

function progress(what: string, failed: number, error: string | undefined): void {
  const problem = failed > 0 || error ? ` (${failed} failed${error ? `: ${error}` : ""})` : "";
  process.stderr.write(`  ${what}${problem}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
