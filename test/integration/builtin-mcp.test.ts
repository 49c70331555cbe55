import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/client.js";
import { connect } from "../../src/db/connect.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { repoRoot, tempDir } from "../utils/mcp.js";
import { SendMessage } from "../utils/operations.js";
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { eventsOf, isCompleted, type StreamEvent } from "../utils/stream-events.js";

/** Two users, each with a conversation that mentions the same word. */
interface Seeded {
  alice: string;
  bob: string;
  aliceConversation: string;
  bobConversation: string;
}

async function seed(prisma: Db): Promise<Seeded> {
  const alice = `alice-${randomUUID()}`;
  const bob = `bob-${randomUUID()}`;
  const conversation = (ownerId: string, title: string, texts: string[]) =>
    prisma.conversation.create({
      data: {
        ownerId,
        title,
        messageCount: texts.length,
        messages: {
          create: texts.map((content, i) => ({
            ownerId,
            position: i + 1,
            role: i % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
            content,
          })),
        },
      },
    });
  const a = await conversation(alice, "Lisbon trip", [
    "Where can I find the best pastel de nata in Lisbon?",
    "Try the bakery in Belém: its pastries are famous.",
  ]);
  const b = await conversation(bob, "Bob's secret", ["My secret pastel recipe uses lemon zest."]);
  return { alice, bob, aliceConversation: a.id, bobConversation: b.id };
}

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
const json = (result: unknown) => JSON.parse(text(result));

/** What the built-in tools must show over any transport: the caller's data, and nothing of anyone else's. */
async function expectScopedToAlice(client: Client, s: Seeded) {
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name).sort()).toEqual([
    "get_conversation",
    "list_conversations",
    "search_messages",
  ]);

  const found = json(await client.callTool({ name: "search_messages", arguments: { query: "pastel" } }));
  expect(found.results).toHaveLength(1);
  expect(found.results[0]).toMatchObject({
    conversationId: encodeGlobalID("Conversation", s.aliceConversation),
    conversationTitle: "Lisbon trip",
    role: "USER",
    position: 1,
  });
  expect(found.results[0].snippet).toContain("<mark>pastel</mark>");

  const listed = json(await client.callTool({ name: "list_conversations", arguments: {} }));
  const titles = listed.conversations.map((c: { title: string }) => c.title);
  expect(titles).toContain("Lisbon trip");
  expect(titles).not.toContain("Bob's secret");

  const own = json(
    await client.callTool({
      name: "get_conversation",
      arguments: { conversationId: encodeGlobalID("Conversation", s.aliceConversation) },
    }),
  );
  expect(own.conversation.title).toBe("Lisbon trip");
  expect(own.messages.map((m: { content: string }) => m.content)).toEqual([
    "Where can I find the best pastel de nata in Lisbon?",
    "Try the bakery in Belém: its pastries are famous.",
  ]);
  expect(own.hasOlder).toBe(false);

  for (const id of [s.bobConversation, encodeGlobalID("Conversation", s.bobConversation)]) {
    const other = await client.callTool({ name: "get_conversation", arguments: { conversationId: id } });
    expect(other.isError).toBe(true);
    expect(text(other)).toBe(`No conversation with id ${id}`);
  }
  const otherSearch = await client.callTool({
    name: "search_messages",
    arguments: { query: "pastel", conversationId: encodeGlobalID("Conversation", s.bobConversation) },
  });
  expect(otherSearch.isError).toBe(true);
}

describe.each(testDatabaseKinds())("the built-in MCP server on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let seeded: Seeded;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      MCP_BUILTIN_TOOLS: "true",
    });
    seeded = await seed(server.runtime.prisma);
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("gives our agent the caller's own data, and only theirs", async () => {
    const token = await tokenFor(seeded.alice);
    fake.script(
      FakeOpenAI.toolCalls([
        { id: "search", name: "chat__search_messages", arguments: '{"query":"pastel"}' },
        {
          id: "mine",
          name: "chat__get_conversation",
          arguments: JSON.stringify({ conversationId: seeded.aliceConversation }),
        },
        {
          id: "theirs",
          name: "chat__get_conversation",
          arguments: JSON.stringify({ conversationId: seeded.bobConversation }),
        },
      ]),
      FakeOpenAI.text(["Found it."]),
    );
    const events = eventsOf(
      await collect(
        yogaSSE(server.url, SendMessage, { input: { content: "what did I ask about pastries?" } }, token),
        isCompleted,
      ),
    );
    const offered = fake.requests.at(-2)?.body.tools?.map((t) => t.function.name) ?? [];
    expect(offered.sort()).toEqual([
      "chat__get_conversation",
      "chat__list_conversations",
      "chat__search_messages",
    ]);
    const done = events.filter(
      (e): e is Extract<StreamEvent, { __typename: "ToolCallCompleted" }> =>
        e.__typename === "ToolCallCompleted",
    );
    const results = new Map(
      done.map((e) => [e.toolCall.name + (e.toolCall.isError ? "!" : ""), e.toolCall.result ?? ""]),
    );
    const search = JSON.parse(results.get("search_messages") ?? "{}");
    expect(search.results.map((r: { conversationTitle: string }) => r.conversationTitle)).toEqual([
      "Lisbon trip",
    ]);
    expect(JSON.parse(results.get("get_conversation") ?? "{}").conversation.title).toBe("Lisbon trip");
    expect(results.get("get_conversation!")).toBe(`No conversation with id ${seeded.bobConversation}`);
    expect(done.every((e) => e.toolCall.server === "chat")).toBe(true);
  });

  it("answers any MCP client over Streamable HTTP at /mcp, with the API's JWT auth", async () => {
    const client = new Client({ name: "test-client", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${await tokenFor(seeded.alice)}` } },
      }),
    );
    try {
      await expectScopedToAlice(client, seeded);
    } finally {
      await client.close();
    }

    const anonymous = new Client({ name: "anonymous", version: "1.0.0" });
    await expect(
      anonymous.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`))),
    ).rejects.toThrow(/401|Authentication required/);
    const forged = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await tokenFor(seeded.alice, { secret: "another-secret-that-is-long-enough-0123456789" })}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(forged.status).toBe(401);
    // POST only (a GET carrying no header at all is refused earlier, by CSRF prevention: 403).
    const get = await fetch(`${server.url}/mcp`, { headers: { authorization: "Bearer x" } });
    expect(get.status).toBe(405);
  });

  it("answers any MCP client over stdio, for the user of MCP_AUTH_TOKEN", async () => {
    let env: Record<string, string>;
    let stdioSeed = seeded;
    if (kind === "postgres") {
      const target = server.database.target;
      if (target.kind !== "postgres") throw new Error("expected a PostgreSQL test database");
      env = { DATABASE_URL: target.url };
    } else {
      // The test server's PGlite lives in its memory: give the stdio process a database folder of its own.
      const dataDir = tempDir("mcp-stdio-db-");
      const db = await connect({ kind: "pglite", dataDir }, { migrate: true });
      stdioSeed = await seed(db.prisma);
      await db.close();
      env = { DATA_DIR: dataDir };
    }
    const client = new Client({ name: "stdio-client", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", "src/mcp-server/stdio.ts"],
        cwd: repoRoot,
        env: {
          ...env,
          NODE_ENV: "test",
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          MCP_AUTH_TOKEN: await tokenFor(stdioSeed.alice),
          LOG_LEVEL: "warn",
        },
        stderr: "pipe",
      }),
    );
    try {
      await expectScopedToAlice(client, stdioSeed);
    } finally {
      await client.close();
    }
  }, 90_000); // spawns a process that opens (and on PGlite, migrates) a database

  it("refuses to start over stdio without a valid MCP_AUTH_TOKEN", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/mcp-server/stdio.ts"], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "test",
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        MCP_AUTH_TOKEN: "not-a-jwt",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(77);
    expect(stderr).toMatch(/MCP_AUTH_TOKEN refused: Invalid token/);
  });
});
