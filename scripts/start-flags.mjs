// The Node.js flags `npm start` gives the server, read from package.json's `start` script: whatever else
// starts the built server (check:production, the benchmarks, the tests of the build) starts it with these.
import { readFileSync } from "node:fs";
import path from "node:path";

/** The `--` flags of the `start` script in `<root>/package.json`, in order. */
export function startFlags(root) {
  const { scripts } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  return scripts.start.split(/\s+/).filter((arg) => arg.startsWith("--"));
}
