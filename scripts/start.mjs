// `npm start`: one command on a fresh clone and in production alike. Rebuilds dist/ when it is missing or
// older than a source file (and the build tool is installed: a production install without devDependencies
// runs the dist/ it was shipped with), then runs the built server in this process, without tsx.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const stamp = path.join(root, "dist", ".built");

/** The newest modification time under dir, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(file) : statSync(file).mtimeMs);
  }
  return latest;
}

function canBuild() {
  try {
    createRequire(import.meta.url).resolve("esbuild");
    return existsSync(path.join(root, "src"));
  } catch {
    return false;
  }
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (canBuild() && built < newest(path.join(root, "src"))) {
  const result = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
} else if (built === 0) {
  console.error(
    "dist/ is missing and esbuild is not installed: run `npm run build` where devDependencies are.",
  );
  process.exit(1);
}
await import(pathToFileURL(path.join(root, "dist", "server.js")).href);
