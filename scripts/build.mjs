// `npm run build`: bundles the server (src/server.ts, the generated Prisma client and the dependencies) into
// dist/server.js, with the modules loaded only when needed (Redis, tracing, the tokenizer, GraphiQL's
// assets) in chunks beside it. One file instead of a thousand halves the start-up: Node no longer resolves,
// reads and links each module of node_modules (measured in BENCHMARKS.md). esbuild only strips types, in a
// second or so; `npm run typecheck` is what checks them. Node runs the output without tsx.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/**
 * Prisma's query compiler is WebAssembly that the generated client imports as a module exporting it as a
 * 4.4 MB base64 string. Bundled, that string stays in the heap twice for good (the string and the source
 * text of its module, which V8 keeps): 9 MB of the idle process. Here the module is replaced by one whose
 * `wasm` reads the bytes from dist/query_compiler.wasm when the client decodes it, which it does with
 * `Buffer.from(wasm, "base64")`: Node's documented rule for an object (`valueOf()`'s result is used) hands
 * it the file's bytes. Should the generated client decode otherwise, the module is bundled as it is.
 */
const queryCompilerWasm = {
  name: "query-compiler-wasm",
  setup(build) {
    const client = readFileSync(path.join(root, "src/db/generated/prisma/internal/class.ts"), "utf8");
    if (!client.includes("Buffer.from(wasmBase64, 'base64')")) return;
    build.onLoad({ filter: /query_compiler_fast_bg\.postgresql\.wasm-base64\.mjs$/ }, async (args) => {
      const { wasm } = await import(args.path);
      mkdirSync(dist, { recursive: true });
      writeFileSync(path.join(dist, "query_compiler.wasm"), Buffer.from(wasm, "base64"));
      return {
        contents: `import { readFileSync } from "node:fs";
export const wasm = { valueOf: () => readFileSync(new URL("./query_compiler.wasm", import.meta.url)) };`,
        loader: "js",
      };
    });
  },
};

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
  plugins: [queryCompilerWasm],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  // V8 keeps each module's source text for as long as the process runs (functions are compiled from it when
  // first called): without the whitespace and with shorter syntax, about 12 MB less memory at idle. Names are
  // kept (identifiers are not minified), so stack traces still name the functions; the source maps beside
  // the chunks lead their positions back to src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // The maps point at the sources (and node_modules) instead of carrying copies of them.
  sourcesContent: false,
  logLevel: "warning",
});
mkdirSync(dist, { recursive: true });
// Marks a complete build: scripts/start.mjs compares the sources' times with this file's.
writeFileSync(path.join(dist, ".built"), `${new Date().toISOString()}\n`);
console.log(`build: src/ -> dist/ in ${Math.round(performance.now() - started)} ms`);
