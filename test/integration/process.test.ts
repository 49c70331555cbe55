import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ABANDONED_REPLY_ERROR } from "../../src/db/abandoned-replies.js";
import { openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient } from "../../src/db/client.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { SendMessage } from "../utils/operations.js";
import { runFailingServer, StartupTimeoutError, startServerProcess } from "../utils/process.js";
import { TEST_JWT_SECRET, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { eventsOf, replyText, type StreamEvent, waitFor } from "../utils/stream-events.js";

// Whole server processes, as `npm start` runs them: restarts, crash recovery and graceful shutdown.

async function gql(url: string, token: string, query: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: ad-hoc query outside the typed operations
  return (await response.json()) as any;
}

describe("server configuration", () => {
  it("refuses to start on a bad setting, naming the variable", async () => {
    const { code, output } = await runFailingServer({ PORT: "eighty", DATABASE_URL: "mysql://nope" });
    expect(code).toBe(78);
    expect(output).toMatch(/PORT/);
    expect(output).toMatch(/DATABASE_URL: must be a postgres/);
  });

  it("kills a server that does not start in time, so none outlives a failed test", async () => {
    const started = startServerProcess(
      { DATA_DIR: mkdtempSync(path.join(tmpdir(), "chat-slow-")) },
      {
        startupTimeoutMs: 50,
      },
    );
    const failure = await started.then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StartupTimeoutError);
    const { pid } = failure as StartupTimeoutError;
    expect(pid).toEqual(expect.any(Number));
    // Signal 0 only asks whether the process exists.
    expect(() => process.kill(pid as number, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });

  it("refuses development auth in production", async () => {
    const { code, output } = await runFailingServer({
      NODE_ENV: "production",
      AUTH_DEV_MODE: "true",
      AUTH_JWT_SECRET: "x".repeat(32),
    });
    expect(code).toBe(78);
    expect(output).toMatch(/AUTH_DEV_MODE: is refused when NODE_ENV=production/);
  });
});
// Each test starts one or two whole processes (migrations on a fresh PGlite folder included): on a busy
// machine one start alone has taken 20 s, so the default test timeout is too tight.
describe.each(testDatabaseKinds())("server process on %s", { timeout: 120_000 }, (kind) => {
  let fake: FakeOpenAI;
  let database: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    dataDir = mkdtempSync(path.join(tmpdir(), "chat-process-"));
    database = await createTestDatabase(kind);
    env = {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "k",
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      FLUSH_INTERVAL_MS: "50",
      ...(database.target.kind === "postgres"
        ? { DATABASE_URL: database.target.url }
        : { DATA_DIR: dataDir }),
    };
  });
  afterAll(async () => {
    await fake?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Reads the database while no server holds it (PGlite allows one process at a time). */
  async function readAssistant(user: string) {
    const db = await openDatabase(
      database.target.kind === "postgres" ? database.target : { kind: "pglite", dataDir },
    );
    const prisma = createPrismaClient(db);
    try {
      return await prisma.message.findFirstOrThrow({
        where: { ownerId: user, role: "ASSISTANT" },
        orderBy: { createdAt: "desc" },
      });
    } finally {
      await prisma.$disconnect();
      await db.close();
    }
  }

  async function startReply(url: string, token: string) {
    const seen: StreamEvent[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      try {
        for await (const r of yogaSSE(
          url,
          SendMessage,
          { input: { content: "crash test" } },
          token,
          abort.signal,
        )) {
          seen.push(...eventsOf([r]));
        }
      } catch {
        // the connection dies with the server
      }
    })();
    return { seen, abort, reading };
  }

  it("keeps data across a restart, and answers /healthz and /readyz", async () => {
    const token = await tokenFor(`restart-${kind}`);
    const first = await startServerProcess(env);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    const created = await gql(
      first.url,
      token,
      'mutation { createConversation(input: { title: "kept" }) { conversation { id } } }',
    );
    const id = created.data.createConversation.conversation.id;
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = await startServerProcess(env);
    try {
      // GET works for queries too.
      const query = encodeURIComponent(`{ conversation(id: "${id}") { title } }`);
      const response = await fetch(`${second.url}/graphql?query=${query}`, {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      });
      expect(await response.json()).toEqual({ data: { conversation: { title: "kept" } } });
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("marks a reply cut off by a crash FAILED at the next start, keeping the saved text", async () => {
    const user = `crash-${kind}`;
    const token = await tokenFor(user);
    const gate = deferred();
    fake.script({
      chunks: [{ content: "saved " }, { content: "text" }, { content: " lost", gate: gate.promise }],
    });
    const server = await startServerProcess(env);
    const reply = await startReply(server.url, token);
    await waitFor(() => replyText(reply.seen) === "saved text", 10_000, "two chunks");
    await new Promise((r) => setTimeout(r, 300)); // past a flush
    server.child.kill("SIGKILL");
    await server.exited;
    reply.abort.abort();
    await reply.reading;
    gate.resolve();

    const cut = await readAssistant(user);
    expect(cut).toMatchObject({ status: "STREAMING", content: "saved text" });

    const again = await startServerProcess(env);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    expect(again.output()).toMatch(/marked replies interrupted by a crash as FAILED/);
    const recovered = await readAssistant(user);
    expect(recovered).toMatchObject({
      status: "FAILED",
      content: "saved text",
      error: ABANDONED_REPLY_ERROR,
    });
  });

  it("lets a running reply finish on SIGTERM within the grace period", async () => {
    const user = `graceful-${kind}`;
    const token = await tokenFor(user);
    fake.script(FakeOpenAI.text(["one ", "two ", "three ", "four ", "five"], { delayMs: 150 }));
    const server = await startServerProcess({ ...env, SHUTDOWN_GRACE_MS: "10000" });
    const reply = await startReply(server.url, token);
    await waitFor(() => reply.seen.some((e) => e.__typename === "TextDelta"), 10_000, "first delta");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    await reply.reading;
    expect(reply.seen.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "COMPLETE", content: "one two three four five" },
    });
    expect(await readAssistant(user)).toMatchObject({
      status: "COMPLETE",
      content: "one two three four five",
    });
  });

  it("cancels and saves a reply still running when the grace period ends", async () => {
    const user = `cut-${kind}`;
    const token = await tokenFor(user);
    const gate = deferred();
    fake.script({ chunks: [{ content: "before shutdown" }, { content: " never", gate: gate.promise }] });
    const server = await startServerProcess({ ...env, SHUTDOWN_GRACE_MS: "300" });
    const reply = await startReply(server.url, token);
    await waitFor(() => replyText(reply.seen) === "before shutdown", 10_000, "first chunk");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    await reply.reading;
    gate.resolve();
    expect(reply.seen.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "CANCELLED" },
    });
    expect(await readAssistant(user)).toMatchObject({
      status: "CANCELLED",
      content: "before shutdown",
      error: "The server shut down before the reply ended",
    });
  });
});
