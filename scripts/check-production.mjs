// `npm run check:production`: what a deployment does, checked end to end. Builds dist/, copies what ships
// (package.json, the lockfile, dist/, prisma/, scripts/) to a temporary folder, installs it with
// `npm ci --omit=dev` (no tsx, no Prisma CLI, no esbuild), starts `npm start` there on a fresh embedded
// database and asks it for GraphiQL and a query. `NODE=/path/to/node` runs the server on another Node.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFlags } from "./start-flags.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const node = process.env.NODE ?? process.execPath;
const dir = mkdtempSync(path.join(tmpdir(), "chat-production-"));

function step(label, started) {
  console.log(`check:production: ${label} (${Math.round(performance.now() - started)} ms)`);
}

try {
  let started = performance.now();
  execFileSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { stdio: "inherit" });
  for (const entry of ["package.json", "package-lock.json", "dist", "prisma", "scripts"])
    cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  started = performance.now();
  execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    stdio: "inherit",
  });
  step("npm ci --omit=dev", started);
  for (const absent of ["tsx", "esbuild", "vitest"]) {
    try {
      execFileSync(node, ["-e", `require.resolve(${JSON.stringify(absent)})`], { cwd: dir, stdio: "ignore" });
      throw new Error(`${absent} was installed by npm ci --omit=dev`);
    } catch (error) {
      if (error instanceof Error && error.message.includes("was installed")) throw error;
    }
  }

  started = performance.now();
  // Development defaults (GraphiQL, development auth), whatever the caller's shell sets.
  const { NODE_ENV: _mode, DATABASE_URL: _url, AUTH_JWT_SECRET: _secret, ...env } = process.env;
  const server = spawn(node, [...startFlags(dir), "scripts/start.mjs"], {
    cwd: dir,
    env: { ...env, PORT: "0", HOST: "127.0.0.1", DATA_DIR: path.join(dir, ".data") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  server.stdout.on("data", (d) => (output += d));
  server.stderr.on("data", (d) => (output += d));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 120_000);
      server.stdout.on("data", () => {
        const match = /GraphQL API on (http:\/\/[^/\s"]+)\/graphql/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1].replace("localhost", "127.0.0.1"));
        }
      });
      server.on("exit", () => reject(new Error(`the server exited:\n${output}`)));
    });
    step(
      `listening on ${node === process.execPath ? "this Node" : node} ${execFileSync(node, ["--version"])}`.trim(),
      started,
    );
    const page = await fetch(`${url}/graphql`, { headers: { accept: "text/html" } });
    const html = await page.text();
    if (page.status !== 200 || !html.includes("GraphiQL")) throw new Error(`no GraphiQL: ${page.status}`);
    const answer = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { id conversationCount } }" }),
    }).then((r) => r.json());
    if (answer?.data?.viewer?.id !== "dev-user")
      throw new Error(`unexpected answer: ${JSON.stringify(answer)}`);
    console.log(`check:production: GraphiQL and ${JSON.stringify(answer)}: ok`);
  } finally {
    server.kill("SIGTERM");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
