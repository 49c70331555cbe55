import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { McpOAuthFixture } from "../fixtures/mcp-oauth-server.js";
import { TEST_USER_HEADER } from "../fixtures/mcp-tools.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { tempDir, writeMcpConfig } from "../utils/mcp.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { waitFor } from "../utils/stream-events.js";
import {
  AuthorizeToolServer,
  DecideToolCall,
  DisconnectToolServer,
  SendWithTools,
  type ToolEvent,
  ToolsQuery,
  toolEventsOf,
} from "../utils/tool-operations.js";

function watch(stream: AsyncIterable<Parameters<typeof toolEventsOf>[0][number]>) {
  const seen: ToolEvent[] = [];
  const done = (async () => {
    for await (const result of stream) {
      seen.push(...toolEventsOf([result]));
      if (seen.at(-1)?.__typename === "MessageCompleted") return;
    }
  })();
  return { seen, done };
}

function completed(events: ToolEvent[]) {
  const last = events.at(-1);
  if (last?.__typename !== "MessageCompleted") throw new Error(`not completed: ${JSON.stringify(events)}`);
  return last.message;
}

async function newUser() {
  const id = `user-${randomUUID()}`;
  return { id, token: await tokenFor(id) };
}

describe.each(testDatabaseKinds())("tool servers authorized per user with OAuth on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let oauth: McpOAuthFixture;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    oauth = await new McpOAuthFixture().start();
    const config = writeMcpConfig(tempDir(), {
      secure: { url: oauth.url, auth: "oauth", approval: { tools: ["whoami"] } },
    });
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      MCP_CONFIG: config,
      MCP_USER_HEADER: TEST_USER_HEADER,
      TOOL_TOKEN_KEY: randomBytes(32).toString("base64"),
    });
  });
  afterAll(async () => {
    await server?.close();
    await oauth?.stop();
    await fake?.close();
  });

  /** What a browser does with the authorization URL: the server redirects back to our callback. */
  async function consent(authorizationUrl: string) {
    const authorize = await fetch(authorizationUrl, { redirect: "manual" });
    expect(authorize.status).toBe(302);
    const callback = authorize.headers.get("location") ?? "";
    expect(callback.startsWith(`${server.url}/oauth/callback?`)).toBe(true);
    const answer = await fetch(callback);
    return { status: answer.status, body: await answer.text() };
  }

  const statusOf = async (token: string) => {
    const result = await server.request(ToolsQuery, {}, token);
    return result.data?.viewer.toolServers.find((s) => s.name === "secure");
  };

  it("connects a user through discovery, registration and PKCE, stores the tokens sealed, refreshes and disconnects", async () => {
    const user = await newUser();
    expect(await statusOf(user.token)).toMatchObject({ status: "NEEDS_AUTHORIZATION" });

    const started = await server.request(AuthorizeToolServer, { server: "secure" }, user.token);
    expect(started.errors).toBeUndefined();
    const url = new URL(started.data?.authorizeToolServer.authorizationUrl ?? "");
    expect(url.origin).toBe(new URL(oauth.url).origin);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toBeTruthy();
    expect(url.searchParams.get("redirect_uri")).toBe(`${server.url}/oauth/callback`);
    // Registered itself dynamically.
    expect(oauth.provider.clients.has(url.searchParams.get("client_id") ?? "")).toBe(true);

    const answer = await consent(url.toString());
    expect(answer).toMatchObject({ status: 200 });
    expect(answer.body).toContain("connected");

    // Sealed at rest: neither the tokens nor the registration appear in the clear.
    const row = await server.runtime.prisma.toolServerAuth.findFirstOrThrow({ where: { ownerId: user.id } });
    expect(row.tokens).toMatch(/^v1\./);
    expect(row.tokens).not.toMatch(/at-|rt-/);
    expect(row.state).toBeNull();
    const client = await server.runtime.prisma.toolServerClient.findUniqueOrThrow({
      where: { server: "secure" },
    });
    expect(client.information).not.toContain("client-");

    const connected = await statusOf(user.token);
    expect(connected?.status).toBe("CONNECTED");
    expect(connected?.tools.map((t) => t.name)).toEqual(expect.arrayContaining(["echo", "whoami"]));

    const before = fake.requests.length;
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_o1", name: "secure__echo", arguments: '{"text":"mine"}' }]),
      FakeOpenAI.text(["sent"]),
    );
    const first = watch(yogaSSE(server.url, SendWithTools, { input: { content: "use it" } }, user.token));
    await first.done;
    expect(completed(first.seen).toolCalls).toMatchObject([
      { name: "echo", status: "COMPLETED", result: "echo: mine" },
    ]);
    expect(fake.requests[before]?.body.tools?.map((t) => t.function.name)).toContain("secure__echo");
    const account = oauth.events.at(-1)?.account;
    expect(oauth.events.at(-1)).toMatchObject({ tool: "echo", metaUser: user.id });
    expect(account).toMatch(/^account-/);

    // An expired access token is refreshed silently.
    oauth.expireAccessTokens();
    const refreshes = oauth.provider.refreshes;
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_o2", name: "secure__echo", arguments: '{"text":"again"}' }]),
      FakeOpenAI.text(["sent again"]),
    );
    const second = watch(yogaSSE(server.url, SendWithTools, { input: { content: "again" } }, user.token));
    await second.done;
    expect(completed(second.seen).toolCalls).toMatchObject([{ status: "COMPLETED", result: "echo: again" }]);
    expect(oauth.provider.refreshes).toBe(refreshes + 1);
    expect(oauth.events.at(-1)).toMatchObject({ tool: "echo", account });

    const disconnected = await server.request(DisconnectToolServer, { server: "secure" }, user.token);
    expect(disconnected.data?.disconnectToolServer.server).toBe("secure");
    expect(await server.runtime.prisma.toolServerAuth.count({ where: { ownerId: user.id } })).toBe(0);
    expect((await statusOf(user.token))?.status).toBe("NEEDS_AUTHORIZATION");
  });

  it("makes a reply that needs an unauthorized server wait for the authorization, then run the call", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls(
        [{ id: "call_o3", name: "secure__echo", arguments: '{"text":"later"}' }],
        "Connecting. ",
      ),
      FakeOpenAI.text(["Done."]),
    );
    const reply = watch(yogaSSE(server.url, SendWithTools, { input: { content: "needs auth" } }, user.token));
    await waitFor(() => reply.seen.some((e) => e.__typename === "ToolAuthorizationRequired"), 15_000);
    const required = reply.seen.find((e) => e.__typename === "ToolAuthorizationRequired");
    if (required?.__typename !== "ToolAuthorizationRequired") throw new Error("no authorization event");
    expect(required.server).toBe("secure");
    expect(reply.seen.some((e) => e.__typename === "ToolApprovalRequested")).toBe(false);
    await waitFor(() => server.runtime.runs.size === 0, 10_000, "the reply to pause");

    expect((await consent(required.authorizationUrl)).status).toBe(200);
    await reply.done;
    expect(reply.seen.map((e) => e.__typename).slice(-5)).toEqual([
      "ToolAuthorizationRequired",
      "ToolCallStarted",
      "ToolCallCompleted",
      "TextDelta",
      "MessageCompleted",
    ]);
    const message = completed(reply.seen);
    expect(message).toMatchObject({ status: "COMPLETE", content: "Connecting. Done." });
    expect(message.toolCalls).toMatchObject([
      { status: "COMPLETED", result: "echo: later", decision: "authorized" },
    ]);
    expect(oauth.events.at(-1)).toMatchObject({ tool: "echo", metaUser: user.id });
  });

  it("still asks for approval, after the authorization, the calls its policy asks for", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_o4", name: "secure__whoami", arguments: "{}" }]),
      FakeOpenAI.text(["It is you."]),
    );
    const reply = watch(yogaSSE(server.url, SendWithTools, { input: { content: "who am I" } }, user.token));
    await waitFor(() => reply.seen.some((e) => e.__typename === "ToolAuthorizationRequired"), 15_000);
    const types = reply.seen.map((e) => e.__typename);
    expect(types).toContain("ToolApprovalRequested");
    const asked = reply.seen.find((e) => e.__typename === "ToolApprovalRequested");
    const required = reply.seen.find((e) => e.__typename === "ToolAuthorizationRequired");
    if (asked?.__typename !== "ToolApprovalRequested" || required?.__typename !== "ToolAuthorizationRequired")
      throw new Error("missing events");
    await waitFor(() => server.runtime.runs.size === 0, 10_000, "the reply to pause");
    expect((await consent(required.authorizationUrl)).status).toBe(200);
    // Authorized, but not approved: it still waits.
    const row = await server.runtime.prisma.toolCall.findUniqueOrThrow({ where: { id: asked.toolCall.id } });
    expect(row).toMatchObject({ status: "AWAITING_APPROVAL", decision: null });
    const decided = await server.request(
      DecideToolCall,
      { input: { toolCallId: asked.toolCall.id, approve: true } },
      user.token,
    );
    expect(decided.errors).toBeUndefined();
    await reply.done;
    expect(completed(reply.seen)).toMatchObject({ status: "COMPLETE", content: "It is you." });
    expect(completed(reply.seen).toolCalls).toMatchObject([
      { name: "whoami", status: "COMPLETED", decision: "approved" },
    ]);
  });

  it("refuses unknown servers, anonymous callers and callbacks that name no authorization", async () => {
    const user = await newUser();
    const unknown = await server.request(AuthorizeToolServer, { server: "nope" }, user.token);
    expect(unknown.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const gone = await server.request(DisconnectToolServer, { server: "nope" }, user.token);
    expect(gone.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const anonymous = await server.request(AuthorizeToolServer, { server: "secure" }, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const forged = await fetch(`${server.url}/oauth/callback?code=x&state=${randomUUID()}`);
    expect(forged.status).toBe(400);
    const incomplete = await fetch(`${server.url}/oauth/callback?state=x`);
    expect(incomplete.status).toBe(400);
  });
});

describe.each(testDatabaseKinds())("an OAuth tool server after a restart on %s", (kind) => {
  it("offers a connected user the server's tools again, with the tokens stored before the restart", async () => {
    const fake = await new FakeOpenAI().start();
    const oauth = await new McpOAuthFixture().start();
    const database: TestDatabase =
      kind === "pglite"
        ? { kind, target: { kind: "pglite", dataDir: tempDir("pglite-") }, drop: async () => {} }
        : await createTestDatabase(kind);
    const env = {
      ...fake.serverEnv,
      MCP_CONFIG: writeMcpConfig(tempDir(), { secure: { url: oauth.url, auth: "oauth" } }),
      TOOL_TOKEN_KEY: randomBytes(32).toString("base64"),
    };
    const user = await newUser();
    try {
      const first = await startTestServer(kind, env, { database: { ...database, drop: async () => {} } });
      try {
        const started = await first.request(AuthorizeToolServer, { server: "secure" }, user.token);
        const authorize = await fetch(started.data?.authorizeToolServer.authorizationUrl ?? "", {
          redirect: "manual",
        });
        expect((await fetch(authorize.headers.get("location") ?? "")).status).toBe(200);
      } finally {
        await first.close();
      }
      const second = await startTestServer(kind, env, { database });
      try {
        const before = fake.requests.length;
        fake.script(
          FakeOpenAI.toolCalls([{ id: "call_r", name: "secure__echo", arguments: '{"text":"back"}' }]),
          FakeOpenAI.text(["still connected"]),
        );
        const reply = watch(
          yogaSSE(second.url, SendWithTools, { input: { content: "after restart" } }, user.token),
        );
        await reply.done;
        expect(fake.requests[before]?.body.tools?.map((t) => t.function.name)).toContain("secure__echo");
        expect(completed(reply.seen).toolCalls).toMatchObject([
          { status: "COMPLETED", result: "echo: back" },
        ]);
      } finally {
        await second.close();
      }
    } finally {
      await oauth.stop();
      await fake.close();
    }
  });
});
