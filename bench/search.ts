// Search benchmark (issue #5): indexed full-text search (src/search) against the seed's
// `content ILIKE '%q%'` on the same data, in the same run.
//
//   npm run bench:search                         1,000,000 messages on PostgreSQL, 100,000 on PGlite
//   npm run bench:search -- --only postgres --messages 200000 --samples 20 --reuse
//
// PostgreSQL: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names a server
// where the database `bench_search` is (re)created; --reuse keeps an already seeded one. PGlite runs in
// memory. Text comes from bench/search-corpus.ts (deterministic). Not a test: it prints figures.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { type Database, type DatabaseTarget, openDatabase } from "../src/db/adapter.js";
import { createPrismaClient, type Db } from "../src/db/client.js";
import { applyPendingMigrations } from "../src/db/migrations.js";
import { ensureSearchLanguage } from "../src/db/search/language.js";
import { searchMessages } from "../src/db/search/search.js";
import { prng, rareWords, TextGenerator } from "./search-corpus.js";

const { values: options } = parseArgs({
  options: {
    only: { type: "string" },
    messages: { type: "string" },
    "pglite-messages": { type: "string" },
    users: { type: "string", default: "1000" },
    samples: { type: "string", default: "40" },
    "scan-samples": { type: "string", default: "5" },
    reuse: { type: "boolean", default: false },
  },
});
const USERS = Number(options.users);
const SAMPLES = Number(options.samples);
/** Samples of the seed's full scan per kind and group (each reads the whole table). */
const SCAN_SAMPLES = Math.min(SAMPLES, Number(options["scan-samples"]));
const BENCH_DB = "bench_search";
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/**
 * The query kinds measured; each sample picks one of the variants. `count`: the search also reads
 * `totalCount` (free when ranked; another statement for a search of only stop words).
 */
const KINDS: { kind: string; queries: readonly string[]; count?: boolean }[] = [
  { kind: "common word", queries: ["server", "database", "deploy", "error", "message"] },
  { kind: "two words", queries: ["database migration", "deploy server", "login session", "cache timeout"] },
  { kind: "phrase", queries: ['"connection timeout"', '"user message"', '"test build"'] },
  { kind: "exclusion", queries: ["deploy -docker", "error -timeout", "server -cache"] },
  { kind: "rare word", queries: rareWords },
  { kind: "fragment", queries: ["kube", "migra", "authent", "ubernet", "scrib"] },
  { kind: "identifier", queries: ["getUserById", "UserById", "ERR_CONNECTION", "fetchOrder", "date.ts"] },
  { kind: "short term", queries: ["go", "ui"] },
  { kind: "stop word", queries: ["it", "up"] },
  { kind: "stop word, counted", queries: ["it", "up"], count: true },
  { kind: "no match", queries: ["xylophonic", "qwzxv", "flibbertigibbet"] },
];

interface Seeded {
  readonly messages: number;
  /** Owners by message count, largest first. */
  readonly owners: { id: string; messages: number }[];
}

async function main(): Promise<void> {
  const only = options.only;
  if (only === undefined || only === "postgres") {
    const messages = Number(options.messages ?? 1_000_000);
    await benchPostgres(messages);
  }
  if (only === undefined || only === "pglite") {
    const messages = Number(
      options["pglite-messages"] ?? (only === "pglite" ? (options.messages ?? 100_000) : 100_000),
    );
    await benchTarget("PGlite (in memory)", { kind: "pglite", dataDir: null }, messages, false);
  }
}

async function benchPostgres(messages: number): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let reuse = false;
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [BENCH_DB]);
    if (options.reuse && exists.rowCount === 1) reuse = true;
    else {
      await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${BENCH_DB}`;
  // One connection: one server backend, whose CPU time the measurement reads.
  await benchTarget("PostgreSQL", { kind: "postgres", url: url.toString(), poolSize: 1 }, messages, reuse);
}

async function benchTarget(label: string, target: DatabaseTarget, messages: number, reuse: boolean) {
  const database = await openDatabase(target);
  const prisma = createPrismaClient(database);
  try {
    await applyPendingMigrations(database);
    await ensureSearchLanguage(prisma, "english", { rebuild: false });
    const existing = reuse ? await prisma.message.count() : 0;
    const seeded = existing > 0 ? await describe(prisma) : await seed(prisma, database, messages);
    console.log(
      `\n## ${label}: ${seeded.messages.toLocaleString("en")} messages, ${seeded.owners.length} users`,
    );
    console.log(
      `largest users: ${seeded.owners
        .slice(0, 3)
        .map((o) => o.messages)
        .join(", ")} messages; median user: ${seeded.owners[Math.floor(seeded.owners.length / 2)]?.messages}`,
    );
    if (target.kind === "postgres") await printSizes(prisma);
    const backendPid =
      target.kind === "postgres"
        ? ((await prisma.$queryRawUnsafe<{ pid: number }[]>("SELECT pg_backend_pid() AS pid"))[0]?.pid ??
          null)
        : null;
    await measure(prisma, seeded, backendPid);
  } finally {
    await prisma.$disconnect();
    await database.close();
  }
}

/** Message counts per user: heavy-tailed (Zipf, exponent 0.9), as real usage is. */
function userSizes(total: number, users: number): number[] {
  const weights = Array.from({ length: users }, (_, i) => 1 / (i + 6) ** 0.9);
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(4, Math.round((w / sum) * total)));
  sizes[sizes.length - 1] = (sizes.at(-1) ?? 0) + total - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

interface ConversationPlan {
  id: string;
  ownerId: string;
  title: string;
  size: number;
  start: number;
}

async function seed(prisma: Db, database: Database, total: number): Promise<Seeded> {
  const started = performance.now();
  const text = new TextGenerator(42);
  const random = prng(7);
  const now = Date.now();
  const year = 365 * 24 * 3600 * 1000;
  const sizes = userSizes(total, USERS);
  const conversations: ConversationPlan[] = [];
  sizes.forEach((size, user) => {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, text.int(4, 60));
      conversations.push({
        id: randomUUID(),
        ownerId: `user-${user}`,
        title: text.title(),
        size: n,
        start: now - Math.floor(random() * year),
      });
      left -= n;
    }
  });
  // Users' conversations interleave on disk, as they do when everyone chats at once.
  for (let i = conversations.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [conversations[i], conversations[j]] = [
      conversations[j] as ConversationPlan,
      conversations[i] as ConversationPlan,
    ];
  }

  for (let i = 0; i < conversations.length; i += 5_000) {
    const batch = conversations.slice(i, i + 5_000);
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Conversation" (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "archivedAt", "messageCount")
       SELECT id, o, t, ts, ts, ts, CASE WHEN a THEN ts END, n
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamp[], $5::bool[], $6::int[]) AS x(id, o, t, ts, a, n)`,
      batch.map((c) => c.id),
      batch.map((c) => c.ownerId),
      batch.map((c) => c.title),
      batch.map((c) => new Date(c.start).toISOString()),
      batch.map(() => random() < 0.05),
      batch.map((c) => c.size),
    );
  }

  // GIN indexes build far faster in one go than row by row: drop them, load, build them again.
  const ginIndexes = await prisma.$queryRawUnsafe<{ def: string; name: string }[]>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'Message' AND indexdef LIKE '%USING gin%'`,
  );
  for (const index of ginIndexes) await prisma.$executeRawUnsafe(`DROP INDEX "${index.name}"`);

  const rows = { id: [] as string[], c: [] as string[], o: [] as string[], p: [] as number[] };
  const more = { r: [] as string[], t: [] as string[], ts: [] as string[] };
  const flush = async () => {
    if (rows.id.length === 0) return;
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Message" (id, "conversationId", "ownerId", position, role, content, "createdAt", "updatedAt")
       SELECT id, c, o, p, r::"MessageRole", t, ts, ts
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamp[])
           AS x(id, c, o, p, r, t, ts)`,
      rows.id,
      rows.c,
      rows.o,
      rows.p,
      more.r,
      more.t,
      more.ts,
    );
    for (const list of [rows.id, rows.c, rows.o, rows.p, more.r, more.t, more.ts]) list.length = 0;
  };
  let written = 0;
  for (const conversation of conversations) {
    for (let position = 1; position <= conversation.size; position += 1) {
      const role = position % 2 === 1 ? "USER" : "ASSISTANT";
      rows.id.push(randomUUID());
      rows.c.push(conversation.id);
      rows.o.push(conversation.ownerId);
      rows.p.push(position);
      more.r.push(role);
      more.t.push(text.message(role));
      more.ts.push(new Date(conversation.start + position * 60_000).toISOString());
      if (rows.id.length === 5_000) await flush();
    }
    written += conversation.size;
    if (written % 100_000 < conversation.size)
      process.stdout.write(`  seeded ${written.toLocaleString("en")}\r`);
  }
  await flush();
  const loaded = performance.now();
  if (database.target.kind === "postgres") await prisma.$executeRawUnsafe("SET maintenance_work_mem = '1GB'");
  for (const index of ginIndexes) await prisma.$executeRawUnsafe(index.def);
  await prisma.$executeRawUnsafe('ANALYZE "Conversation", "Message"');
  const indexed = performance.now();
  console.log(
    `\nseeded ${total.toLocaleString("en")} messages in ${seconds(loaded - started)} (generated tsvector included), ` +
      `built ${ginIndexes.length} GIN indexes in ${seconds(indexed - loaded)}`,
  );
  const owners = sizes.map((messages, user) => ({ id: `user-${user}`, messages }));
  return { messages: total, owners: owners.sort((a, b) => b.messages - a.messages) };
}

async function describe(prisma: Db): Promise<Seeded> {
  const owners = await prisma.$queryRawUnsafe<{ id: string; messages: number }[]>(
    `SELECT "ownerId" AS id, count(*)::int AS messages FROM "Message" GROUP BY 1 ORDER BY 2 DESC`,
  );
  return { messages: owners.reduce((sum, o) => sum + o.messages, 0), owners };
}

async function printSizes(prisma: Db): Promise<void> {
  const sizes = await prisma.$queryRawUnsafe<{ name: string; size: string }[]>(
    `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
       FROM pg_class c WHERE c.relname IN ('Message', 'Message_searchVector_content_idx',
                                          'Message_ownerId_createdAt_idx') ORDER BY c.relname`,
  );
  console.log(`sizes: ${sizes.map((s) => `${s.name} ${s.size}`).join(", ")}`);
}

/**
 * The seed's search: the user's messages whose text contains the query, newest first, a page of 20 (plus
 * one to know whether more follow). It reads the user's messages through the ownerId index until it has
 * a page: all of them when fewer match. `content || ''` keeps the trigram index out: the seed had none.
 */
async function ilikePage(prisma: Db, ownerId: string, query: string): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<unknown[]>(
    `SELECT id::text, content FROM "Message"
      WHERE "ownerId" = $1 AND (content || '') ILIKE '%' || $2 || '%'
      ORDER BY "createdAt" DESC, id DESC LIMIT 21`,
    ownerId,
    likeEscape(query),
  );
  return rows.length;
}

/**
 * The seed's search as issue #5 describes it, "a full scan": the same page as {@link ilikePage} with no
 * index to narrow it (the planner reads the whole table, in parallel workers where it can).
 */
async function ilikeScan(prisma: Db, ownerId: string, query: string): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<unknown[]>(
    `SELECT id::text, content FROM "Message"
      WHERE ("ownerId" || '') = $1 AND (content || '') ILIKE '%' || $2 || '%'
      ORDER BY "createdAt" DESC, id DESC LIMIT 21`,
    ownerId,
    likeEscape(query),
  );
  return rows.length;
}

/** ILIKE over all of the user's messages, as ranking (or a result count) needs: always a full scan. */
async function ilikeAll(prisma: Db, ownerId: string, query: string): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "Message" WHERE "ownerId" = $1 AND (content || '') ILIKE '%' || $2 || '%'`,
    ownerId,
    likeEscape(query),
  );
  return row?.n ?? 0;
}

const likeEscape = (query: string) => query.replace(/[\\%_]/g, "\\$&");

/**
 * CPU time used so far by this process and, on PostgreSQL, by the one server backend serving the pool
 * (read from /proc: the server runs on this machine). Unlike wall-clock time it does not grow while the
 * shared machine's other work holds the cores, so it compares methods fairly on a busy machine.
 */
function cpuMeter(backendPid: number | null): () => number {
  const clockTicks = 100; // USER_HZ on Linux
  const backend = () => {
    if (backendPid === null) return 0;
    try {
      const fields = readFileSync(`/proc/${backendPid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    } catch {
      return Number.NaN;
    }
  };
  return () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000 + backend();
  };
}

type Method = (owner: string, query: string, count: boolean) => Promise<number>;
interface Samples {
  wall: number[];
  cpu: number;
  count: number;
}

async function measure(prisma: Db, seeded: Seeded, backendPid: number | null): Promise<void> {
  console.log(`load average (1 min) before measuring: ${loadavg()[0]?.toFixed(1)} on ${cpus} cores`);
  const cpu = cpuMeter(backendPid);
  const random = prng(99);
  const heavy = seeded.owners.slice(0, 10);
  const populations = [
    { name: "any user", pick: () => seeded.owners[Math.floor(random() * seeded.owners.length)] },
    { name: "10 largest", pick: () => heavy[Math.floor(random() * heavy.length)] },
  ];
  const methods: Record<"search" | "scan" | "page" | "all", Method> = {
    search: async (owner, query, count) => {
      const page = await searchMessages(prisma, owner, { query });
      if (count) await page.totalCount();
      return page.hits.length;
    },
    scan: (owner, query) => ilikeScan(prisma, owner, query),
    page: (owner, query) => ilikePage(prisma, owner, query),
    all: (owner, query) => ilikeAll(prisma, owner, query),
  };
  type Name = keyof typeof methods;
  const owner0 = seeded.owners[0]?.id ?? "";
  // Warm the caches a little, as a running server's would be (the scan once: it reads the whole table).
  await methods.scan(owner0, "deploy", false);
  for (const { queries } of KINDS) {
    for (const query of queries.slice(0, 2))
      for (const name of ["search", "page", "all"] as const) await methods[name](owner0, query, false);
  }
  const empty = (): Record<Name, Samples> => ({
    search: { wall: [], cpu: 0, count: 0 },
    scan: { wall: [], cpu: 0, count: 0 },
    page: { wall: [], cpu: 0, count: 0 },
    all: { wall: [], cpu: 0, count: 0 },
  });
  const lines: { wall: string[]; cpu: string[] } = { wall: [], cpu: [] };
  const report = (label: string, users: string, t: Record<Name, Samples>, extra: string) => {
    const p = (name: Name, q: number) => pct(t[name].wall, q);
    const [s50, s95] = [p("search", 50), p("search", 95)];
    lines.wall.push(
      `| ${label} | ${users} | ${ms(s50)} | ${ms(s95)} | ${ms(p("scan", 50))} | ${ms(p("scan", 95))} | ` +
        `${ratio(p("scan", 50), s50)} | ${ratio(p("scan", 95), s95)} | ${ms(p("page", 50))} | ${ms(p("page", 95))} | ` +
        `${ms(p("all", 50))} | ${ms(p("all", 95))} | ${ratio(p("page", 95), s95)} | ${ratio(p("all", 95), s95)} | ${extra} |`,
    );
    const mean = (name: Name) => t[name].cpu / t[name].count;
    const [cs, cscan, cp, ca] = [mean("search"), mean("scan"), mean("page"), mean("all")];
    lines.cpu.push(
      `| ${label} | ${users} | ${ms(cs)} | ${ms(cscan)} | ${ms(cp)} | ${ms(ca)} | ${ratio(cscan, cs)} | ${ratio(cp, cs)} | ${ratio(ca, cs)} |`,
    );
  };
  const totals = populations.map(empty);
  for (const { kind, queries, count = false } of KINDS) {
    for (const [index, population] of populations.entries()) {
      const cell = empty();
      let hits = 0;
      for (let i = 0; i < SAMPLES; i += 1) {
        const owner = population.pick()?.id ?? "";
        const query = queries[Math.floor(random() * queries.length)] ?? "";
        for (const [name, method] of Object.entries(methods) as [Name, Method][]) {
          if (name === "scan" && i >= SCAN_SAMPLES) continue;
          const [wallStart, cpuStart] = [performance.now(), cpu()];
          const found = await method(owner, query, count);
          const [wall, used] = [performance.now() - wallStart, cpu() - cpuStart];
          for (const samples of [cell[name], totals[index]?.[name]]) {
            if (!samples) continue;
            samples.wall.push(wall);
            samples.cpu += used;
            samples.count += 1;
          }
          if (name === "search") hits += found;
        }
      }
      report(kind, population.name, cell, (hits / SAMPLES).toFixed(1));
    }
  }
  for (const [index, population] of populations.entries()) {
    const total = totals[index];
    if (total) report("**all kinds**", population.name, total, "");
  }
  console.log(
    `\nWall-clock latency per query (search = searchMessages through Prisma, ${SAMPLES} samples per row; ` +
      `seed scan = the seed's ILIKE page with no index, a full scan, ${SCAN_SAMPLES} samples per row; ` +
      "ILIKE page = the same page through the ownerId index; ILIKE all = every match through it):\n",
  );
  console.log(
    "| query kind | users | search p50 | search p95 | seed scan p50 | seed scan p95 | p50 vs scan | p95 vs scan | ILIKE page p50 | ILIKE page p95 | ILIKE all p50 | ILIKE all p95 | p95 vs page | p95 vs all | results |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const line of lines.wall) console.log(line);
  console.log(
    `\nCPU time per query, mean (${backendPid === null ? "this process, PGlite included" : "this process plus the PostgreSQL backend; a scan's parallel workers are not counted"}):\n`,
  );
  console.log(
    "| query kind | users | search | seed scan | ILIKE page | ILIKE all | scan / search | page / search | all / search |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const line of lines.cpu) console.log(line);
  console.log(`load average (1 min) after measuring: ${loadavg()[0]?.toFixed(1)} on ${cpus} cores`);
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const cpus = availableParallelism();
const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (baseline: number, value: number) => `${(baseline / value).toFixed(1)}x`;
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
