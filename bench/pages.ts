// Page latency at 10,000 messages (issue #2): a 50-conversation page with lastMessage and messageCount, and
// the newest and next-older 50-message pages of a long conversation, on PGlite and on PostgreSQL.
// Requests go through the app's fetch handler in process (no network), sequentially after a warm-up.
//   npm run bench:pages            (BENCH_SAMPLES=200 by default)
import { encodeGlobalID } from "@pothos/plugin-relay";
import { SignJWT } from "jose";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import type { DatabaseTarget } from "../src/db/adapter.js";
import { createLogger } from "../src/logger.js";
import { createRuntime } from "../src/runtime.js";
import { createApp } from "../src/yoga.js";

const SECRET = "bench-secret-that-is-long-enough-for-hs256-000000";
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const OWNER = "bench-pages";
// 10,000 messages: one long conversation of 5,050 and 99 of 50 each; 100 conversations in all.
const LONG = 5_050;
const OTHERS = 99;
const PER_OTHER = 50;

async function seed(prisma: Awaited<ReturnType<typeof createRuntime>>["prisma"]) {
  const now = Date.now();
  let longId = "";
  for (let c = 0; c <= OTHERS; c++) {
    const count = c === 0 ? LONG : PER_OTHER;
    const conversation = await prisma.conversation.create({
      data: {
        ownerId: OWNER,
        title: `Conversation ${c}`,
        messageCount: count,
        activityAt: new Date(now - c * 1000),
      },
    });
    if (c === 0) longId = conversation.id;
    for (let start = 0; start < count; start += 1_000) {
      const rows = Array.from({ length: Math.min(1_000, count - start) }, (_, i) => ({
        conversationId: conversation.id,
        ownerId: OWNER,
        position: start + i + 1,
        role: (start + i) % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
        content: `Message ${start + i + 1}: ${"lorem ipsum dolor sit amet ".repeat(8)}`,
      }));
      await prisma.message.createMany({ data: rows });
    }
  }
  return longId;
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function measure(kind: "pglite" | "postgres") {
  let target: DatabaseTarget = { kind: "pglite", dataDir: null };
  const name = `bench_pages_${Date.now().toString(36)}`;
  if (kind === "postgres") {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    target = { kind: "postgres", url: url.toString(), poolSize: 5 };
  }
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000",
    METRICS: "false",
  });
  const runtime = await createRuntime(config, createLogger({ level: "silent" }), { target });
  const app = createApp(runtime);
  try {
    const longId = await seed(runtime.prisma);
    const total = await runtime.prisma.message.count({ where: { ownerId: OWNER } });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(OWNER)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(SECRET));
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await app.fetch("http://bench/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: bench reads the raw response
      const body = (await response.json()) as any;
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const id = encodeGlobalID("Conversation", longId);
    const latest = await post(
      `query($id: ID!) { conversation(id: $id) { messages(last: 50) { pageInfo { startCursor } } } }`,
      { id },
    );
    const before = latest.conversation.messages.pageInfo.startCursor;
    const cases: [string, string, Record<string, unknown>][] = [
      [
        "conversations(first: 50) with lastMessage, messageCount",
        `{ conversations(first: 50) { totalCount edges { cursor node { id title lastActivityAt messageCount lastMessage { id role content } } } pageInfo { hasNextPage endCursor } } }`,
        {},
      ],
      [
        "messages(last: 50), newest page of a 5,050-message conversation",
        `query($id: ID!) { conversation(id: $id) { messages(last: 50) { edges { cursor node { id role content status createdAt } } pageInfo { hasPreviousPage startCursor } } } }`,
        { id },
      ],
      [
        "messages(last: 50, before:), the next older page",
        `query($id: ID!, $before: String!) { conversation(id: $id) { messages(last: 50, before: $before) { edges { cursor node { id role content status createdAt } } pageInfo { hasPreviousPage startCursor } } } }`,
        { id, before },
      ],
    ];
    const rows: string[] = [];
    for (const [label, query, variables] of cases) {
      for (let i = 0; i < 20; i++) await post(query, variables);
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const started = performance.now();
        await post(query, variables);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      rows.push(
        `| ${kind} | ${total.toLocaleString("en")} | ${label} | ${percentile(times, 0.5).toFixed(2)} ms | ${percentile(times, 0.95).toFixed(2)} ms |`,
      );
    }
    return rows;
  } finally {
    await runtime.close();
    if (kind === "postgres") {
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }
}

const lines = ["| database | messages | page | p50 | p95 |", "| --- | ---: | --- | ---: | ---: |"];
for (const kind of ["pglite", "postgres"] as const) lines.push(...(await measure(kind)));
console.log(`${SAMPLES} sequential samples per page after 20 warm-up requests\n`);
console.log(lines.join("\n"));
