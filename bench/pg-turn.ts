// PostgreSQL's work per turn, with no HTTP, model or Node server in the way: one connection sends the
// statements of N turns (a new conversation, the user's message, the reply's end with 100 chunks of 8
// characters, as the compare scenario's replies) and the backend's CPU time is read from /proc.
//
//   npx tsx bench/pg-turn.ts ours 1000        this server's statements (migrates the database first)
//   npx tsx bench/pg-turn.ts seed 1000        the seed design's (its two tables must exist: see below)
//
// BENCH_TURN_URL names the database (default postgresql://postgres@127.0.0.1:5432/bench_turn; it must exist).
// The seed design's tables are those its SQLModel app creates: `pg_dump -s bench_seed` after a compare run.
// BENCH_TURN_CLEAN=1 merges the message search index's pending list at the end, on the same connection and
// within the measured time, so that the index's whole cost is the backend's and in the figure: otherwise
// the entries still pending (up to one list, 16 MB) are left out. Run against a PostgreSQL started under
// `valgrind --tool=callgrind`, each backend's instructions are in its own callgrind.out file: the counts
// are the same from run to run, whatever else the machine does (BENCHMARKS.md, "Eleventh session").
import { readFileSync } from "node:fs";
import pg from "pg";
import { newUuid } from "../src/core/ids.js";
import { connect } from "../src/db/connect.js";
import { endReply } from "../src/db/replies.js";
import { insertExchange } from "../src/db/sends.js";

const [mode = "ours", turnsArg = "1000"] = process.argv.slice(2);
const url = process.env.BENCH_TURN_URL ?? "postgresql://postgres@127.0.0.1:5432/bench_turn";
const turns = Number(turnsArg);
/** Turns before the measured ones: the connection's caches and prepared statements warm. */
const WARM = 30;
const TICKS_PER_SECOND = 100;
const tag = Date.now().toString(36);

/** A reply as the compare scenario's model writes it: 100 chunks of 8 characters. */
const reply = () =>
  Array.from({ length: 100 }, () =>
    Math.floor(Math.random() * 36 ** 6)
      .toString(36)
      .padStart(6, "0")
      .padEnd(8, "x"),
  ).join("");

function backendCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function measure(
  pid: number,
  turn: (i: number) => Promise<void>,
  end: () => Promise<unknown> = async () => {},
): Promise<void> {
  for (let i = 0; i < WARM; i++) await turn(i);
  const cpu = backendCpuMs(pid);
  const started = performance.now();
  for (let i = WARM; i < WARM + turns; i++) await turn(i);
  await end();
  const wall = performance.now() - started;
  const used = backendCpuMs(pid) - cpu;
  console.log(
    `${mode}: ${turns} turns, backend ${pid}: ${(used / turns).toFixed(3)} ms CPU and ${(wall / turns).toFixed(2)} ms a turn`,
  );
}

if (mode === "ours") {
  const connection = await connect({ kind: "postgres", url, poolSize: 1 }, { migrate: true });
  const db = connection.prisma;
  const [backend] = await db.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  // As the bench's server is configured: the send's statement checks a daily token quota.
  const tokenQuota = { since: new Date(new Date().toISOString().slice(0, 10)), limit: 1_000_000 };
  await measure(
    backend?.pid as number,
    async (i) => {
      const assistantId = newUuid();
      const [user] = await insertExchange(db, {
        ownerId: `bench-${tag}-${i}`,
        conversation: { title: `Question ${i} of ${tag}` },
        user: { content: `Question ${i} of ${tag}`, clientMessageId: null },
        model: null,
        assistantId,
        tokenQuota,
      });
      await endReply(db, assistantId, user?.conversationId as string, {
        content: reply(),
        reasoning: null,
        lastSeq: 101,
        status: "COMPLETE",
        error: null,
        model: "bench",
        promptTokens: 10,
        completionTokens: 100,
        totalTokens: 110,
      });
    },
    () =>
      process.env.BENCH_TURN_CLEAN
        ? db.$queryRaw`SELECT gin_clean_pending_list('"Message_searchVector_text_idx"'::regclass)`
        : Promise.resolve(),
  );
  await connection.close();
} else if (mode === "seed") {
  // The statements the seed design's SQLAlchemy session sends (read off PostgreSQL's log of a compare run).
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const message =
    "INSERT INTO message (conversation_id, role, content, created_at) VALUES ($1::integer, $2::varchar, $3::varchar, $4::timestamp) RETURNING message.id";
  await measure(rows[0]?.pid as number, async (i) => {
    const now = new Date().toISOString().replace("T", " ").replace("Z", "");
    await client.query("BEGIN ISOLATION LEVEL READ COMMITTED;");
    const conversation = await client.query<{ id: number }>({
      name: "conversation",
      text: "INSERT INTO conversation (title, created_at, updated_at) VALUES ($1::varchar, $2::timestamp, $3::timestamp) RETURNING conversation.id",
      values: [`Question ${i} of ${tag}`, now, now],
    });
    const id = conversation.rows[0]?.id;
    await client.query({
      name: "message",
      text: message,
      values: [id, "user", `Question ${i} of ${tag}`, now],
    });
    await client.query("COMMIT;");
    await client.query("BEGIN ISOLATION LEVEL READ COMMITTED;");
    await client.query({ name: "message", text: message, values: [id, "assistant", reply(), now] });
    await client.query("COMMIT;");
  });
  await client.end();
} else {
  throw new Error(`mode: ours or seed, not ${mode}`);
}
