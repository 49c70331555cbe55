import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../utils/process.js";

// The production build: `npm run build` compiles src/ to dist/, and `node dist/server.js` serves the API
// without tsx, finding the migrations and the schema engine from there. (`npm run check:production`
// installs it with `npm ci --omit=dev` in a copy: too slow for the suite, run in CI beside it.)

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The start-up log lines, one per step, as JSON. */
function startupLines(output: string) {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; [key: string]: unknown });
}

describe("the built server", { timeout: 120_000 }, () => {
  let dataDir: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, "scripts/build.mjs")], { cwd: root, stdio: "pipe" });
    dataDir = mkdtempSync(path.join(tmpdir(), "chat-built-"));
  });
  afterAll(async () => {
    for (const server of servers) {
      server.child.kill("SIGTERM");
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start() {
    const server = await startServerProcess({ DATA_DIR: dataDir }, { entry: "built" });
    servers.push(server);
    return server;
  }

  async function stop(server: ServerProcess) {
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }

  it("migrates a fresh database, logs each start-up step, and serves GraphiQL and queries", async () => {
    const server = await start();

    const lines = startupLines(server.output());
    const steps = lines.map((line) => line.msg.replace(/ on http.*/, ""));
    expect(steps).toEqual(
      expect.arrayContaining([
        "database open",
        "migrations",
        "model provider",
        "tool servers",
        "GraphQL API",
      ]),
    );
    expect(lines.find((line) => line.msg === "migrations")?.applied).not.toEqual([]);
    expect(lines.find((line) => line.msg.startsWith("GraphQL API"))?.startupMs).toEqual(expect.any(Number));

    const page = await fetch(`${server.url}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("GraphiQL");
    const answer = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { id conversationCount } }" }),
    });
    expect(await answer.json()).toEqual({ data: { viewer: { id: "dev-user", conversationCount: 0 } } });
    await stop(server);
  });

  it("starts again on the same database with nothing to migrate", async () => {
    const server = await start();

    const migrations = startupLines(server.output()).find((line) => line.msg === "migrations");
    expect(migrations?.applied).toEqual([]);
    await stop(server);
  });
});
