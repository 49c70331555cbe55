import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FixtureEvent } from "../fixtures/mcp-tools.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A fresh temporary directory for config files and logs. */
export function tempDir(prefix = "mcp-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** The `mcpServers` entry that spawns the stdio fixture server; what it sees is logged to `logFile`. */
export function stdioFixtureEntry(logFile: string, name = "stdio") {
  return {
    command: process.execPath,
    args: ["--import", "tsx", path.join(root, "test/fixtures/mcp-stdio-server.ts")],
    env: { MCP_FIXTURE_LOG: logFile, MCP_FIXTURE_NAME: name },
    cwd: root,
  };
}

/** Writes an `mcpServers` file into `dir` and returns its path (for MCP_CONFIG). */
export function writeMcpConfig(dir: string, mcpServers: Record<string, unknown>): string {
  const file = path.join(dir, "mcp.json");
  writeFileSync(file, JSON.stringify({ mcpServers }, null, 2));
  return file;
}

/** What the stdio fixture logged so far. */
export function fixtureLog(logFile: string): (FixtureEvent & { pid: number })[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** The repository root, for spawning its scripts. */
export const repoRoot = root;
