// Start-up time and idle memory of the built server (issue #16): `node dist/server.js` with
// NODE_ENV=production, an already migrated database, the demo model and no tool servers, as a deployment
// restarts it. Optionally against another built tree (`--baseline <folder>`, e.g. a worktree of an earlier
// commit after `npm run build` there), alternating runs so both see the same machine.
//
//   npm run bench:startup                                   PGlite and PostgreSQL, 5 runs each
//   npm run bench:startup -- --runs 7 --baseline /tmp/old-tree --only postgres
//
// Per run: wall time from spawning the process until `POST {__typename}` answers (polled every 20 ms); the
// server's own `startupMs` (process start to listening) and `cpuMs` (CPU until then); RSS after 10 s idle.
// PostgreSQL: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names a server
// where the database `bench_startup` is (re)created. Not a test: it prints medians and ranges.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { startFlags } from "../scripts/start-flags.mjs";
import { median } from "./lib/stats.js";

const { values: options } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    only: { type: "string" },
    baseline: { type: "string" },
    "idle-ms": { type: "string", default: "10000" },
  },
});
const RUNS = Number(options.runs);
const IDLE_MS = Number(options["idle-ms"]);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const BENCH_DB = "bench_startup";

interface Sample {
  readyMs: number;
  startupMs: number;
  cpuMs: number | null;
  rssMb: number;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** One start: spawn, poll until a query answers, wait idle, read RSS, stop. */
async function startOnce(tree: string, database: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...startFlags(tree), path.join(tree, "dist/server.js")],
    {
      cwd: tree,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        AUTH_JWT_SECRET: "bench-secret-that-is-long-enough-for-hs256-0123456789",
        HOST: "127.0.0.1",
        PORT: String(port),
        LOG_LEVEL: "info",
        ...database,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d;
  });
  const exited = once(child, "exit");
  try {
    let readyMs = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
      try {
        const answer = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ __typename }" }),
        });
        if (answer.ok) {
          readyMs = performance.now() - started;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    const listening = output
      .split("\n")
      .filter((line) => line.includes('"startupMs"'))
      .map((line) => JSON.parse(line) as { startupMs: number; cpuMs?: number })[0];
    return {
      readyMs,
      startupMs: listening?.startupMs ?? Number.NaN,
      cpuMs: listening?.cpuMs ?? null,
      rssMb: rssKb / 1024,
    };
  } finally {
    child.kill("SIGINT");
    await exited;
  }
}

function summary(samples: Sample[]): string {
  const of = (pick: (s: Sample) => number | null, unit: string, digits = 0) => {
    const values = samples.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
    if (values.length === 0) return "–";
    const f = (v: number) => v.toFixed(digits);
    return `${f(median(values))} ${unit} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
  };
  return [
    `ready ${of((s) => s.readyMs, "ms")}`,
    `startupMs ${of((s) => s.startupMs, "ms")}`,
    `cpu ${of((s) => s.cpuMs, "ms")}`,
    `idle RSS ${of((s) => s.rssMb, "MB")}`,
  ].join(", ");
}

async function databases(): Promise<{ name: string; env: Record<string, string>; drop(): Promise<void> }[]> {
  const chosen: { name: string; env: Record<string, string>; drop(): Promise<void> }[] = [];
  if (options.only !== "postgres") {
    const dataDir = mkdtempSync(path.join(tmpdir(), "bench-startup-"));
    chosen.push({
      name: "PGlite (data on disk)",
      env: { DATA_DIR: dataDir },
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    });
  }
  if (options.only !== "pglite") {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${BENCH_DB}`;
    chosen.push({
      name: "PostgreSQL",
      env: { DATABASE_URL: url.toString() },
      drop: async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
        await client.end();
      },
    });
  }
  return chosen;
}

execFileSync(process.execPath, [path.join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
const trees = [{ name: "this tree", dir: root }];
if (options.baseline)
  trees.push({ name: `baseline (${options.baseline})`, dir: path.resolve(options.baseline) });
for (const database of await databases()) {
  try {
    // The first start creates and migrates the database: not what is measured.
    await startOnce(root, database.env);
    const samples = new Map(trees.map((t) => [t.name, [] as Sample[]]));
    for (let run = 0; run < RUNS; run++)
      for (const tree of trees) samples.get(tree.name)?.push(await startOnce(tree.dir, database.env));
    for (const tree of trees)
      console.log(`${database.name}, ${tree.name}: ${summary(samples.get(tree.name) ?? [])}`);
  } finally {
    await database.drop();
  }
}
