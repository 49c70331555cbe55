// Queries (issues #2 and #9): latency of a 50-conversation page (with lastMessage and messageCount) and of
// the newest and next-older 50-message pages of a long conversation, at 10,000 messages (PGlite and
// PostgreSQL) and 1,000,000 (PostgreSQL). Requests go through the app's fetch handler in process (auth,
// GraphQL, Prisma, database; no network), one at a time after a warm-up.
import { encodeGlobalID } from "@pothos/plugin-relay";
import { SignJWT } from "jose";
import pg from "pg";
import { createApp } from "../../src/app/create-app.js";
import { createRuntime } from "../../src/app/runtime.js";
import { loadConfig } from "../../src/core/config.js";
import type { DatabaseTarget } from "../../src/db/adapter.js";
import type { Db } from "../../src/db/client.js";
import { createLogger } from "../../src/observability/logger.js";
import { median, quantile } from "../lib/stats.js";

export interface QueryRow {
  database: string;
  messages: number;
  query: string;
  p50Ms: number;
  p95Ms: number;
}

const SECRET = "bench-secret-that-is-long-enough-for-hs256-000000";
const OWNER = "bench-pages";

/** One user's conversations: the first is the long one; `total` messages in all. */
interface Layout {
  total: number;
  long: number;
  others: number;
  perOther: number;
}
const SMALL: Layout = { total: 10_000, long: 5_050, others: 99, perOther: 50 };
const LARGE: Layout = { total: 1_000_000, long: 505_000, others: 99, perOther: 5_000 };

/**
 * Seeds the layout in SQL (generate_series): 100 conversations of one user, the newest the long one. The
 * search index is dropped first, as page queries never read it and building it would take minutes.
 */
async function seed(prisma: Db, layout: Layout): Promise<void> {
  await prisma.$executeRawUnsafe(`DROP INDEX IF EXISTS "Message_searchVector_content_idx"`);
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Conversation" (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "messageCount")
     SELECT gen_random_uuid(), $1, 'Conversation ' || c, now(), now(), now() - c * interval '1 second',
            CASE WHEN c = 0 THEN $2::int ELSE $3::int END
       FROM generate_series(0, $4::int) AS c`,
    OWNER,
    layout.long,
    layout.perOther,
    layout.others,
  );
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Message" (id, "conversationId", "ownerId", position, role, content, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), c.id, c."ownerId", p,
            (CASE WHEN p % 2 = 1 THEN 'USER' ELSE 'ASSISTANT' END)::"MessageRole",
            'Message ' || p || ': ' || repeat('lorem ipsum dolor sit amet ', 8),
            now() - (c."messageCount" - p) * interval '1 second', now()
       FROM "Conversation" c, generate_series(1, c."messageCount") AS p
      WHERE c."ownerId" = $1`,
    OWNER,
  );
  await prisma.$executeRawUnsafe(`ANALYZE`);
}

const CASES = [
  {
    name: "conversations(first: 50) + lastMessage, messageCount",
    query: `{ conversations(first: 50) { totalCount edges { cursor node { id title lastActivityAt messageCount lastMessage { id role content } } } pageInfo { hasNextPage endCursor } } }`,
  },
  {
    name: "messages(last: 50), newest page of the long conversation",
    query: `query($id: ID!) { conversation(id: $id) { messages(last: 50) { edges { cursor node { id role content status createdAt } } pageInfo { hasPreviousPage startCursor } } } }`,
  },
  {
    name: "messages(last: 50, before:), the next older page",
    query: `query($id: ID!, $before: String!) { conversation(id: $id) { messages(last: 50, before: $before) { edges { cursor node { id role content status createdAt } } pageInfo { hasPreviousPage startCursor } } } }`,
  },
];

async function measureTarget(
  label: string,
  target: DatabaseTarget,
  layout: Layout,
  samples: number,
  seedFirst: boolean,
): Promise<QueryRow[]> {
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000",
    METRICS: "false",
  });
  const runtime = await createRuntime(config, createLogger({ level: "silent" }), { target });
  const app = createApp(runtime);
  try {
    if (seedFirst) {
      const started = performance.now();
      await seed(runtime.prisma, layout);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stderr.write(
        `  ${label}: seeded ${layout.total.toLocaleString("en")} messages in ${seconds} s\n`,
      );
    } else {
      process.stderr.write(
        `  ${label}: reusing ${layout.total.toLocaleString("en")} messages seeded earlier\n`,
      );
    }
    const long = await runtime.prisma.conversation.findFirstOrThrow({
      where: { ownerId: OWNER, messageCount: layout.long },
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(OWNER)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(SECRET));
    const post = async (query: string, variables: Record<string, unknown>) => {
      const response = await app.fetch("http://bench/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data as { conversation: { messages: { pageInfo: { startCursor: string } } } };
    };
    const id = encodeGlobalID("Conversation", long.id);
    const newest = await post(CASES[1]?.query ?? "", { id });
    const variables = { id, before: newest.conversation.messages.pageInfo.startCursor };
    const rows: QueryRow[] = [];
    for (const [index, { name, query }] of CASES.entries()) {
      const vars = index === 0 ? {} : index === 1 ? { id } : variables;
      for (let i = 0; i < 20; i++) await post(query, vars);
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const t = performance.now();
        await post(query, vars);
        times.push(performance.now() - t);
      }
      rows.push({
        database: label,
        messages: layout.total,
        query: name,
        p50Ms: median(times),
        p95Ms: quantile(times, 0.95),
      });
    }
    return rows;
  } finally {
    await runtime.close();
  }
}

/**
 * A fresh database for the layout; the 1,000,000-message one is kept between runs (its seeding is most of
 * this scenario's time) and reused while it holds exactly that layout, unless `reseed`.
 */
async function postgresFor(
  adminUrl: string,
  layout: Layout,
  reseed: boolean,
): Promise<{ url: string; fresh: boolean }> {
  const name = layout === LARGE ? "bench_pages_1m" : "bench_pages";
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    if (layout === LARGE && !reseed) {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (exists.rowCount === 1) {
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        const { rows } = await client
          .query<{ n: string }>(`SELECT count(*) AS n FROM "Message" WHERE "ownerId" = $1`, [OWNER])
          .finally(() => client.end());
        if (Number(rows[0]?.n) === layout.total) return { url: url.toString(), fresh: false };
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    return { url: url.toString(), fresh: true };
  } finally {
    await admin.end();
  }
}

/** Page latency at 10,000 messages on both databases and at 1,000,000 on PostgreSQL. */
export async function measureQueries(adminUrl: string, quick: boolean, reseed = false): Promise<QueryRow[]> {
  const samples = quick ? 50 : 200;
  const rows = await measureTarget("PGlite", { kind: "pglite", dataDir: null }, SMALL, samples, true);
  for (const layout of quick ? [SMALL] : [SMALL, LARGE]) {
    const { url, fresh } = await postgresFor(adminUrl, layout, reseed);
    rows.push(
      ...(await measureTarget("PostgreSQL", { kind: "postgres", url, poolSize: 5 }, layout, samples, fresh)),
    );
  }
  return rows;
}
