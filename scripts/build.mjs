// `npm run build`: compiles src/ (the generated Prisma client included) to dist/, one .js file per .ts
// file in the same layout, so paths found from a module's own location (the migrations under prisma/, the
// schema engine's WASM in node_modules) hold in both trees. esbuild only strips types, in a fraction of
// a second; `npm run typecheck` is what checks them. Node runs the output without tsx.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, "src");
const dist = path.join(root, "dist");

/** Every TypeScript file under dir (Node 20 has no fs.glob). */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [file] : [];
  });
}

const started = performance.now();
rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: sources(src),
  outdir: dist,
  outbase: src,
  bundle: false,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
mkdirSync(dist, { recursive: true });
// Marks a complete build: scripts/start.mjs compares the sources' times with this file's.
writeFileSync(path.join(dist, ".built"), `${new Date().toISOString()}\n`);
console.log(`build: src/ -> dist/ in ${Math.round(performance.now() - started)} ms`);
