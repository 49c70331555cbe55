// Runs `prisma generate`, which needs no schema engine, on machines where Prisma's native schema engine
// could not be downloaded. The CLI insists on finding an engine before it starts; when none was
// installed we point it at a stub that fails if ever run, and say so. With the real engine present
// (a machine with internet, or PRISMA_SCHEMA_ENGINE_BINARY set by the user) this is plain `prisma generate`.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const enginesDir = path.join(root, "node_modules", "@prisma", "engines");

function hasNativeEngine() {
  if (process.env.PRISMA_SCHEMA_ENGINE_BINARY) return true;
  if (!existsSync(enginesDir)) return false;
  return readdirSync(enginesDir).some((f) => f.startsWith("schema-engine"));
}

const cli = path.join(root, "node_modules", "prisma", "build", "index.js");
// A production install (`npm ci --omit=dev`) has no Prisma CLI: the server it runs is dist/, built with
// the generated client compiled in, so there is nothing to generate.
if (!existsSync(cli)) {
  console.log("prisma-generate: the prisma CLI is not installed; using the client compiled into dist/");
  process.exit(0);
}

// Generators such as prisma-pothos-types are found on PATH, as under `npm run`.
const bin = path.join(root, "node_modules", ".bin");
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
if (!hasNativeEngine()) {
  const dir = path.join(root, "node_modules", ".cache", "prisma-engine-stub");
  const stub = path.join(dir, "schema-engine");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    stub,
    '#!/bin/sh\necho "native schema engine not installed: use npm run db:migrate (WASM engine)" >&2\nexit 1\n',
  );
  chmodSync(stub, 0o755);
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
  console.log(
    "prisma-generate: native schema engine absent; generating with a stub (migrations use the WASM engine)",
  );
}

const result = spawnSync(process.execPath, [cli, "generate"], { cwd: root, env, stdio: "inherit" });
process.exit(result.status ?? 1);
