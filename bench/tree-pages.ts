// Page latency of a conversation's active path (issue #17): a 10,000-message conversation with 10% of its
// messages in side branches, against a linear 10,000-message conversation, and against the list query of
// before the trees (keyset on position, no path), in the same run.
//
//   npm run bench:tree                                  PostgreSQL and PGlite, 10,000 messages, 300 samples
//   npm run bench:tree -- --only pglite --messages 10000 --samples 300
//
// PostgreSQL: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names a server
// where the database `bench_tree_pages` is (re)created. PGlite runs in memory. Pages are read with the
// functions the `messages` connection calls (src/db/messages.ts), 50 messages each: the newest page
// (`last: 50`), a page back from the middle (`last: 50, before:`) and one forwards from there
// (`first: 50, after:`), with the fields a chat view asks for (tool calls; the versions' count and ids,
// loaded by join). Not a test: it prints figures (median and p95 in ms).
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { type DatabaseTarget, openDatabase } from "../src/db/adapter.js";
import { createPrismaClient, type Db } from "../src/db/client.js";
import type { Prisma } from "../src/db/generated/prisma/client.js";
import { listMessages } from "../src/db/messages.js";
import { applyPendingMigrations } from "../src/db/migrations.js";
import { median, quantile } from "./lib/stats.js";

const { values: options } = parseArgs({
  options: {
    only: { type: "string" },
    messages: { type: "string", default: "10000" },
    samples: { type: "string", default: "300" },
  },
});
const MESSAGES = Number(options.messages);
const SAMPLES = Number(options.samples);
const PAGE = 50;
const BENCH_DB = "bench_tree_pages";
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/**
 * What a chat view selects on each message of a page (as Pothos passes it for the SDK's MessageFields): tool
 * calls and the versions (`siblingCount`, `siblings { id }`: the parent's children, or for a first message
 * the conversation's first messages).
 */
const VIEW = {
  include: {
    toolCalls: { orderBy: { position: "asc" } },
    parent: {
      select: { childCount: true, children: { select: { id: true }, orderBy: { position: "asc" } } },
    },
    conversation: {
      select: {
        rootCount: true,
        messages: { where: { parentId: null }, select: { id: true }, orderBy: { position: "asc" } },
      },
    },
  },
} satisfies { include: Prisma.MessageInclude };

interface Row {
  id: string;
  parentId: string | null;
  depth: number;
  siblingIndex: number;
  childCount: number;
  onActivePath: boolean;
}

/**
 * A conversation's messages: a chain of `messages - branched` on the active path, and `branched` messages
 * off it in side branches of 10 (each hangs off a path message, as an edited message or a regenerated
 * reply would, and continues for 10 messages).
 */
function plan(messages: number, branched: number): Row[] {
  const pathLength = messages - branched;
  const path: Row[] = [];
  for (let i = 0; i < pathLength; i++) {
    path.push({
      id: randomUUID(),
      parentId: path[i - 1]?.id ?? null,
      depth: i + 1,
      siblingIndex: 0,
      childCount: i + 1 < pathLength ? 1 : 0,
      onActivePath: true,
    });
  }
  const side: Row[] = [];
  const branches = Math.floor(branched / 10);
  for (let b = 0; b < branches; b++) {
    // Spread over the path; the branch is a sibling of the path's next message.
    const at = path[Math.floor(((b + 0.5) * pathLength) / branches) - 1];
    if (!at) continue;
    at.childCount += 1;
    let parent = at;
    for (let k = 0; k < 10; k++) {
      const row: Row = {
        id: randomUUID(),
        parentId: parent.id,
        depth: parent.depth + 1,
        siblingIndex: k === 0 ? at.childCount - 1 : 0,
        childCount: k < 9 ? 1 : 0,
        onActivePath: false,
      };
      side.push(row);
      parent = row;
    }
  }
  return [...path, ...side];
}

async function seed(prisma: Db, ownerId: string, title: string, rows: Row[]) {
  const conversation = await prisma.conversation.create({
    data: { ownerId, title, messageCount: rows.length, rootCount: 1 },
  });
  const createdAt = new Date();
  for (let start = 0; start < rows.length; start += 2_000) {
    await prisma.message.createMany({
      data: rows.slice(start, start + 2_000).map((row, i) => ({
        ...row,
        conversationId: conversation.id,
        ownerId,
        position: start + i + 1,
        role: row.depth % 2 === 1 ? ("USER" as const) : ("ASSISTANT" as const),
        content: `message ${start + i + 1}: ${"lorem ipsum dolor sit amet ".repeat(8)}`,
        createdAt,
      })),
    });
  }
  const leaf = rows.filter((r) => r.onActivePath).at(-1);
  await prisma.conversation.update({
    where: { id: conversation.id },
    data: { activeLeafId: leaf?.id ?? null, pathLength: leaf?.depth ?? 0 },
  });
  return {
    id: conversation.id,
    middle: rows.filter((r) => r.onActivePath)[Math.floor((leaf?.depth ?? 0) / 2)],
  };
}

/**
 * Milliseconds of `SAMPLES` runs of each of `runs`, after a few to warm up. Interleaved (one of each in
 * turn) so that the machine's load, which varies from second to second, weighs on all of them alike.
 */
async function timeAll(runs: (() => Promise<unknown>)[]): Promise<number[][]> {
  for (const run of runs) for (let i = 0; i < 10; i++) await run();
  const times = runs.map((): number[] => []);
  for (let i = 0; i < SAMPLES; i++) {
    for (const [j, run] of runs.entries()) {
      const started = performance.now();
      await run();
      times[j]?.push(performance.now() - started);
    }
  }
  return times;
}

/** Tool calls only: the selection of the list of before the trees. */
const PLAIN = { include: { toolCalls: { orderBy: { position: "asc" } } } } satisfies {
  include: Prisma.MessageInclude;
};

/**
 * The list of before the trees: the cursor's position read first (as `listMessages` did), then keyset on
 * position over every message of the conversation.
 */
async function positionPage(prisma: Db, conversationId: string, take: number, cursorId?: string) {
  const cursor = cursorId
    ? await prisma.message.findFirst({ where: { id: cursorId, conversationId }, select: { position: true } })
    : null;
  const position = cursor?.position;
  const bound = position === undefined ? {} : { position: take >= 0 ? { gt: position } : { lt: position } };
  return prisma.message.findMany({
    include: { toolCalls: { orderBy: { position: "asc" } } },
    where: { conversationId, ...bound },
    orderBy: { position: take >= 0 ? "asc" : "desc" },
    take: Math.abs(take),
  });
}

async function benchTarget(label: string, target: DatabaseTarget) {
  const database = await openDatabase(target);
  const prisma = createPrismaClient(database);
  try {
    await applyPendingMigrations(database);
    const ownerId = `bench-${randomUUID()}`;
    const branched = Math.round(MESSAGES / 10);
    const linear = await seed(prisma, ownerId, "linear", plan(MESSAGES, 0));
    const tree = await seed(prisma, ownerId, "tree", plan(MESSAGES, branched));
    await prisma.$executeRawUnsafe('ANALYZE "Message"');
    console.log(
      `\n## ${label}: ${MESSAGES.toLocaleString("en")} messages each; the tree has ${branched.toLocaleString("en")} in side branches (${PAGE} per page, ${SAMPLES} samples)\n`,
    );
    console.log(
      "| page | before the trees: position | linear: active path | tree: active path | tree: active path + versions |",
    );
    console.log("| --- | --- | --- | --- | --- |");
    type Conversation = typeof linear;
    type Read = (c: Conversation, selection: typeof PLAIN | typeof VIEW) => Promise<unknown>;
    const middle = (c: Conversation) => ({ id: String(c.middle?.id) });
    const cases: [string, (c: Conversation) => Promise<unknown>, Read][] = [
      [
        "newest (`last: 50`)",
        (c) => positionPage(prisma, c.id, -PAGE),
        (c, selection) => listMessages(prisma, c.id, { ...selection, take: -PAGE, skip: 0 }),
      ],
      [
        "back from the middle (`last: 50, before:`)",
        (c) => positionPage(prisma, c.id, -PAGE, middle(c).id),
        (c, selection) =>
          listMessages(prisma, c.id, { ...selection, take: -PAGE, skip: 1, cursor: middle(c) }),
      ],
      [
        "forwards from the middle (`first: 50, after:`)",
        (c) => positionPage(prisma, c.id, PAGE, middle(c).id),
        (c, selection) =>
          listMessages(prisma, c.id, { ...selection, take: PAGE, skip: 1, cursor: middle(c) }),
      ],
    ];
    for (const [name, before, after] of cases) {
      const figures = await timeAll([
        () => before(linear),
        () => after(linear, PLAIN),
        () => after(tree, PLAIN),
        () => after(tree, VIEW),
      ]);
      console.log(
        `| ${name} | ${figures.map((t) => `${median(t).toFixed(2)} (p95 ${quantile(t, 0.95).toFixed(2)})`).join(" | ")} |`,
      );
    }
    const page = (await listMessages(prisma, tree.id, { ...VIEW, take: -PAGE, skip: 0 })) as unknown as Row[];
    if (page.length !== PAGE || page.some((m) => !m.onActivePath))
      throw new Error("the tree's page is not its path");
  } finally {
    await prisma.$disconnect();
    await database.close();
  }
}

async function main() {
  if (options.only === undefined || options.only === "postgres") {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    const url = new URL(adminUrl);
    url.pathname = `/${BENCH_DB}`;
    try {
      await benchTarget("PostgreSQL", { kind: "postgres", url: url.toString(), poolSize: 1 });
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
      await admin.end();
    }
  }
  if (options.only === undefined || options.only === "pglite") {
    await benchTarget("PGlite (in memory)", { kind: "pglite", dataDir: null });
  }
}

await main();
