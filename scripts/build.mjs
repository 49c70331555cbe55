// `npm run build`: bundles the server (src/server.ts, the generated Prisma client and the dependencies) into
// dist/server.js, with the modules loaded only when needed (Redis, tracing, the tokenizer, GraphiQL's
// assets) in chunks beside it. One file instead of a thousand halves the start-up: Node no longer resolves,
// reads and links each module of node_modules (measured in BENCHMARKS.md). esbuild only strips types, in a
// second or so; `npm run typecheck` is what checks them. Node runs the output without tsx.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, "dist");

/**
 * Packages loaded from node_modules at run time rather than bundled: each finds files beside its own
 * modules (PGlite's WASM and data, the schema engine's WASM, pino's worker threads), is native (sharp), or
 * is a development tool looked up only when installed (pino-pretty).
 */
const external = [
  "@electric-sql/pglite",
  "@prisma/schema-engine-wasm",
  "pino",
  "pino-pretty",
  "thread-stream",
  "sharp",
  "unpdf",
].flatMap((name) => [name, `${name}/*`]);

const started = performance.now();
rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: { server: path.join(root, "src", "server.ts") },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  sourcemap: true,
  // The maps point at the sources (and node_modules) instead of carrying copies of them.
  sourcesContent: false,
  logLevel: "warning",
});
mkdirSync(dist, { recursive: true });
// Marks a complete build: scripts/start.mjs compares the sources' times with this file's.
writeFileSync(path.join(dist, ".built"), `${new Date().toISOString()}\n`);
console.log(`build: src/ -> dist/ in ${Math.round(performance.now() - started)} ms`);
