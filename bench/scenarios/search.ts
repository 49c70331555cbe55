// Search (issue #5) inside `npm run bench`: bench/search.ts on PostgreSQL with fewer samples, on the
// 1,000,000-message database `npm run bench:search` leaves behind when it exists (seeding it takes minutes),
// else on 100,000 messages seeded now. Its tables are printed as they come.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function seededMessages(adminUrl: string): Promise<number> {
  const url = new URL(adminUrl);
  url.pathname = "/bench_search";
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "Message"`);
    return Number(rows[0]?.n ?? 0);
  } catch {
    return 0; // not seeded yet
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs the search benchmark and resolves with what it printed. */
export async function measureSearch(adminUrl: string, quick: boolean): Promise<string> {
  const reuse = (await seededMessages(adminUrl)) >= 1_000_000;
  // The seed's full scan takes a second a sample: a few per row give its scale.
  const args = ["--only", "postgres", "--samples", quick ? "5" : "10", "--scan-samples", quick ? "1" : "3"];
  args.push(...(reuse ? ["--reuse"] : ["--messages", "100000"]));
  const child = spawn(process.execPath, ["--import", "tsx", "bench/search.ts", ...args], {
    cwd: root,
    env: { ...process.env, BENCH_POSTGRES_URL: adminUrl },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (data: Buffer) => {
    output += data.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`bench/search.ts exited with ${code}`);
  return output;
}
