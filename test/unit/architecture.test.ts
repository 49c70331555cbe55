// The folders are the architecture (docs/architecture.md): each folder of src/ stands on a floor and
// imports only from floors below it. This test reads every import of src/ (type-only and dynamic ones too)
// and fails on one that runs upward, so the rule holds without anyone having to remember it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");

/** The floors of docs/architecture.md; a folder imports only from lower floors. */
const FLOORS: Record<string, number> = {
  "server.ts": 7,
  app: 6,
  schema: 5,
  resolvers: 4,
  "mcp-server": 4,
  cluster: 4,
  agent: 3,
  http: 3,
  limits: 3,
  db: 2,
  search: 1,
  auth: 1,
  observability: 1,
  core: 0,
};

/** Inside the agent: the model knows no tools or runs, tools know no runs. */
const AGENT_FLOORS: Record<string, number> = { model: 0, tools: 1, runs: 2 };

/** Generated code (the Prisma client) belongs to db/ and is not read. */
const GENERATED = path.join(SRC, "db", "generated");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (full === GENERATED) return [];
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith(".ts") ? [full] : [];
  });
}

/** The room a file lives in: its top folder under src/, or agent/<part>. */
function roomOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  const top = parts[0] as string;
  return top === "agent" && parts.length > 2 ? `agent/${parts[1]}` : top;
}

function runsUpward(from: string, to: string): boolean {
  if (from === to) return false;
  const [fromTop, fromPart] = from.split("/") as [string, string | undefined];
  const [toTop, toPart] = to.split("/") as [string, string | undefined];
  if (fromTop === "agent" && toTop === "agent") {
    return (AGENT_FLOORS[toPart ?? ""] ?? 99) >= (AGENT_FLOORS[fromPart ?? ""] ?? -1);
  }
  return (FLOORS[toTop] ?? 99) >= (FLOORS[fromTop] ?? -1);
}

/** A Prisma model call or raw SQL: what only db/ may run. */
const STATEMENT =
  /\$(?:queryRaw|executeRaw|transaction)|Prisma\.sql|\b(?:prisma|db|tx)\.\w+\.(?:find\w*|create\w*|update\w*|delete\w*|upsert|count|aggregate|groupBy)\(/;

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"(\.{1,2}\/[^"]+)"/g;

/** Every relative import of src/, as [importing file, imported file]. */
function imports(): [string, string][] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(IMPORT)].map(
      (m) => [file, path.resolve(path.dirname(file), m[1] as string)] as [string, string],
    ),
  );
}

describe("the layout", () => {
  it("keeps only server.ts at the root of src/, and every folder on a floor", () => {
    const entries = readdirSync(SRC);
    expect(entries.filter((name) => !statSync(path.join(SRC, name)).isDirectory())).toEqual(["server.ts"]);
    const unknown = entries.filter((name) => !(name in FLOORS));
    expect(unknown, "a new folder needs its floor here and in docs/architecture.md").toEqual([]);
    const agentParts = readdirSync(path.join(SRC, "agent"));
    expect(agentParts.sort()).toEqual(Object.keys(AGENT_FLOORS).sort());
  });

  it("imports only downward", () => {
    const upward = imports()
      .filter(([file, target]) => runsUpward(roomOf(file), roomOf(target)))
      .map(([file, target]) => `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
    expect(upward).toEqual([]);
  });

  it("keeps every database statement in db/", () => {
    const outside = sourceFiles(SRC)
      .filter((file) => roomOf(file) !== "db")
      .flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .map((line, index) => [file, index + 1, line] as const),
      )
      .filter(([, , line]) => STATEMENT.test(line))
      .map(([file, line]) => `${path.relative(SRC, file)}:${line}`);
    expect(outside).toEqual([]);
  });

  it("reads imports the way the check needs (a planted upward import is caught)", () => {
    expect(runsUpward("db", "resolvers")).toBe(true);
    expect(runsUpward("core", "observability")).toBe(true);
    expect(runsUpward("http", "limits")).toBe(true);
    expect(runsUpward("agent/model", "agent/runs")).toBe(true);
    expect(runsUpward("agent/runs", "agent/tools")).toBe(false);
    expect(runsUpward("resolvers", "db")).toBe(false);
    expect(STATEMENT.test("await ctx.prisma.message.findMany({ where })")).toBe(true);
    expect(STATEMENT.test("prisma.$queryRaw`SELECT 1`")).toBe(true);
    expect(STATEMENT.test("await db.attachment.deleteMany({ where })")).toBe(true);
    expect(STATEMENT.test("this.listeners.delete(channel);")).toBe(false);
    const planted = 'import type { Context } from "../resolvers/context.js";\nimport("../app/runtime.js");';
    expect([...planted.matchAll(IMPORT)].map((m) => m[1])).toEqual([
      "../resolvers/context.js",
      "../app/runtime.js",
    ]);
  });
});
