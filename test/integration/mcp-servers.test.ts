import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpServerStatus } from "../../src/agent/tools/mcp/connection.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { McpHttpFixture } from "../fixtures/mcp-http-server.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { fixtureLog, stdioFixtureEntry, tempDir, writeMcpConfig } from "../utils/mcp.js";
import { SendMessage } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { eventsOf, isCompleted, type StreamEvent, waitFor } from "../utils/stream-events.js";

type Readiness = {
  status: string;
  checks: Record<string, string>;
  mcpServers: Record<string, McpServerStatus>;
};

describe.each(testDatabaseKinds())("MCP server connections on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let remote: McpHttpFixture;
  let stdioLog: string;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    remote = await new McpHttpFixture("remote").start();
    const dir = tempDir();
    stdioLog = path.join(dir, "stdio.log");
    const config = writeMcpConfig(dir, {
      remote: { url: remote.url },
      local: stdioFixtureEntry(stdioLog, "local"),
      broken: { command: path.join(dir, "no-such-server") },
      nowhere: { url: `http://127.0.0.1:${await closedPort()}/mcp` },
      off: { command: "never-started", disabled: true },
    });
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      MCP_CONFIG: config,
      // A busy machine can take seconds to spawn the stdio fixture: the suite needs it connected at start.
      MCP_CONNECT_TIMEOUT_MS: "30000",
      MCP_RECONNECT_MIN_MS: "100",
      MCP_RECONNECT_MAX_MS: "400",
      // No pings here: the failures below are noticed by the calls themselves.
      MCP_PING_INTERVAL_MS: "0",
      TOOL_CALL_TIMEOUT_MS: "10000",
    });
    token = await tokenFor(`user-${randomUUID()}`);
  });
  afterAll(async () => {
    await server?.close();
    await remote?.stop();
    await fake?.close();
  });

  async function readiness(): Promise<{ status: number; body: Readiness }> {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Readiness };
  }

  async function callTools(calls: { name: string; arguments: string }[]) {
    fake.script(FakeOpenAI.toolCalls(calls), FakeOpenAI.text(["done"]));
    const events = eventsOf(
      await collect(
        yogaSSE(server.url, SendMessage, { input: { content: "use tools" } }, token),
        isCompleted,
      ),
    );
    return events
      .filter(
        (e): e is Extract<StreamEvent, { __typename: "ToolCallCompleted" }> =>
          e.__typename === "ToolCallCompleted",
      )
      .map((e) => e.toolCall);
  }

  const state = (name: string) => server.runtime.mcp.status()[name]?.state;

  it("keeps serving when a server cannot start or be reached, and reports each one in /readyz", async () => {
    const { status, body } = await readiness();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ready", checks: { database: "ok" } });
    expect(Object.keys(body.mcpServers).sort()).toEqual(["broken", "local", "nowhere", "remote"]);
    expect(body.mcpServers.remote).toMatchObject({ transport: "http", state: "ready", failures: 0 });
    expect(body.mcpServers.local).toMatchObject({ transport: "stdio", state: "ready" });
    expect(body.mcpServers.local?.tools).toBeGreaterThan(5);
    for (const name of ["broken", "nowhere"]) {
      expect(body.mcpServers[name]?.failures).toBeGreaterThanOrEqual(1);
      expect(["failed", "connecting"]).toContain(body.mcpServers[name]?.state);
    }
    expect(body.mcpServers.broken?.error ?? "").toMatch(/ENOENT|no-such-server/);
    expect(body.mcpServers.nowhere?.error ?? "").toMatch(/ECONNREFUSED/);
    // It keeps trying, with backoff.
    const failures = body.mcpServers.broken?.failures ?? 0;
    await waitFor(() => (server.runtime.mcp.status().broken?.failures ?? 0) > failures, 15_000, "a retry");

    const results = await callTools([{ name: "local__echo", arguments: '{"text":"still here"}' }]);
    expect(results[0]).toMatchObject({ result: "echo: still here", isError: false });
    const offered = fake.requests.at(-2)?.body.tools?.map((t) => t.function.name) ?? [];
    expect(offered.some((n) => n.startsWith("remote__"))).toBe(true);
    expect(
      offered.some((n) => n.startsWith("broken__") || n.startsWith("nowhere__") || n.startsWith("off__")),
    ).toBe(false);
  });

  it("restarts a stdio server that died, failing the calls it took down with it", async () => {
    const pidsBefore = new Set(fixtureLog(stdioLog).map((e) => e.pid));
    const results = await callTools([
      { name: "local__slow", arguments: '{"ms":5000}' },
      { name: "local__crash", arguments: "{}" },
    ]);
    const slow = results.find((r) => r.name === "slow");
    expect(slow?.isError).toBe(true);
    expect(slow?.result).toMatch(/^The connection to the tool server closed before the tool answered/);
    await waitFor(() => state("local") === "ready", 15_000, "the restarted server");
    const after = await callTools([{ name: "local__echo", arguments: '{"text":"back"}' }]);
    expect(after[0]).toMatchObject({ result: "echo: back", isError: false });
    const newPids = fixtureLog(stdioLog)
      .filter((e) => e.type === "call" && e.tool === "echo")
      .map((e) => e.pid)
      .filter((pid) => !pidsBefore.has(pid));
    expect(newPids.length).toBeGreaterThan(0);
  });

  it("sends a call again over a new session when an HTTP server forgot the old one", async () => {
    const sessions = remote.sessionCount;
    await remote.dropSessions();
    const results = await callTools([{ name: "remote__echo", arguments: '{"text":"resent"}' }]);
    expect(results[0]).toMatchObject({ result: "echo: resent", isError: false });
    expect(remote.sessionCount).toBe(sessions + 1);
  });

  it("reports an HTTP server that went away, answers its calls as unavailable, and reconnects when it is back", async () => {
    await remote.stop();
    const down = await callTools([{ name: "remote__echo", arguments: '{"text":"anyone?"}' }]);
    expect(down[0]?.isError).toBe(true);
    expect(down[0]?.result).toMatch(/fetch failed|ECONNREFUSED|not connected/);
    await waitFor(() => state("remote") !== "ready", 15_000, "the server marked down");
    const { status, body } = await readiness();
    expect(status).toBe(200);
    expect(["failed", "connecting"]).toContain(body.mcpServers.remote?.state);
    expect(body.mcpServers.remote?.error).toBeTruthy();
    // Its tools are not offered while it is down, and a call is answered as unavailable.
    const unavailable = await callTools([{ name: "remote__echo", arguments: '{"text":"still?"}' }]);
    expect(fake.requests.at(-2)?.body.tools?.some((t) => t.function.name.startsWith("remote__"))).toBe(false);
    expect(unavailable[0]?.result).toMatch(
      /^The tool is unavailable right now: the tool server "remote" is not connected/,
    );

    await remote.start();
    await waitFor(() => state("remote") === "ready", 15_000, "the reconnection");
    const back = await callTools([{ name: "remote__echo", arguments: '{"text":"welcome back"}' }]);
    expect(back[0]).toMatchObject({ result: "echo: welcome back", isError: false });
  });
});

/** A loopback port nothing listens on (it was free a moment ago): connections to it are refused. */
async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
