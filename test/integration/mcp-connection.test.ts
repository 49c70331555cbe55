import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McpConnection } from "../../src/agent/tools/mcp/connection.js";
import { transportFor } from "../../src/agent/tools/mcp/transports.js";
import { createLogger } from "../../src/observability/logger.js";
import { McpHttpFixture } from "../fixtures/mcp-http-server.js";
import { fixtureLog, stdioFixtureEntry, tempDir } from "../utils/mcp.js";
import { waitFor } from "../utils/stream-events.js";

// One connection at a time, without a database: what the hub relies on.

const options = {
  logger: createLogger(),
  connectTimeoutMs: 20_000,
  reconnect: { minMs: 50, maxMs: 200 },
  pingIntervalMs: 100,
  onToolsChanged: () => {},
};
const call = (connection: McpConnection, tool: string, args: Record<string, unknown>) =>
  connection.call(tool, args, { meta: {}, signal: new AbortController().signal, timeoutMs: 15_000 });

describe("an MCP connection", () => {
  let fixture: McpHttpFixture;
  beforeAll(async () => {
    fixture = await new McpHttpFixture("pinged").start();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it("notices an idle HTTP server going away by pinging it, and reconnects when it is back", async () => {
    const connection = new McpConnection(
      "pinged",
      transportFor(
        { transport: "http", name: "pinged", url: fixture.url, headers: {} },
        "x-user",
        options.logger,
      ),
      options,
    );
    try {
      await connection.start();
      expect(connection.status()).toMatchObject({ state: "ready", failures: 0 });
      await fixture.stop();
      await waitFor(() => connection.status().state !== "ready", 15_000, "the lost server to be noticed");
      await waitFor(() => connection.status().failures >= 2, 15_000, "retries with backoff");
      expect(connection.status().error).toMatch(/fetch failed|ECONNREFUSED/);
      await fixture.start();
      await waitFor(() => connection.status().state === "ready", 15_000, "the reconnection");
      expect((await call(connection, "echo", { text: "again" })).content).toEqual([
        { type: "text", text: "echo: again" },
      ]);
    } finally {
      await connection.close();
    }
    expect(connection.status().state).toBe("closed");
  });

  it("ends a stdio server's process when closed", async () => {
    const log = path.join(tempDir(), "stdio.log");
    const entry = { transport: "stdio" as const, name: "child", ...stdioFixtureEntry(log, "child") };
    const connection = new McpConnection("child", transportFor(entry, "x-user", options.logger), options);
    await connection.start();
    await call(connection, "echo", { text: "hello" });
    const pid = fixtureLog(log)[0]?.pid;
    expect(pid).toBeTypeOf("number");
    await connection.close();
    await waitFor(() => !isAlive(pid as number), 15_000, "the child process to end");
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
