import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFlags } from "../../scripts/start-flags.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A server started as its own process, as `npm start` does. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process logged so far. */
  readonly output: () => string;
  /** Waits for the process to exit; resolves with its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** A server process that did not start in time; it has been killed and has exited. */
export class StartupTimeoutError extends Error {
  constructor(
    readonly pid: number | undefined,
    output: string,
  ) {
    super(`server did not start:\n${output}`);
  }
}

/** How the server runs: from source with tsx (as `npm run dev`), or built in dist/ (as `npm start`). */
export type ServerEntry = "source" | "built";

/**
 * Starts the server on a free port with the given environment and waits until it listens. A process that
 * does not start within `startupTimeoutMs` is killed (and waited for) before the promise rejects, so no
 * server outlives a failed test.
 */
export async function startServerProcess(
  env: Record<string, string>,
  {
    entry = "source",
    // Generous: on a busy two-core machine, tsx and the migrations of a fresh database take a while.
    startupTimeoutMs = 60_000,
  }: { entry?: ServerEntry; startupTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  const { child, output, exited } = spawnServer({ LOG_LEVEL: "info", ...env }, entry);
  let timedOut = false;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      void exited.then(() => reject(new StartupTimeoutError(child.pid, output())));
    }, startupTimeoutMs);
    const check = () => {
      const match = /GraphQL API on (http:\/\/[^/\s"]+)\/graphql/.exec(output());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1].replace("localhost", "127.0.0.1"));
      }
    };
    child.stdout?.on("data", check);
    void exited.then(() => {
      clearTimeout(timer);
      if (!timedOut) reject(new Error(`server exited before listening:\n${output()}`));
    });
  });
  return { url, child, output, exited };
}

function spawnServer(env: Record<string, string>, entry: ServerEntry = "source") {
  const args =
    entry === "built"
      ? [...startFlags(root), path.join(root, "dist/server.js")]
      : ["--import", "tsx", path.join(root, "src/server.ts")];
  const child = spawn(process.execPath, args, {
    cwd: root,
    // Titles off unless a test turns them on: a title request would take the next scripted model answer.
    env: { ...cleanEnv(), PORT: "0", HOST: "127.0.0.1", TITLE_GENERATION: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const append = (d: Buffer) => {
    output += d;
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

// The child must not inherit the test runner's markers (vitest silences logs) or a developer's settings.
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      key.startsWith("VITEST") ||
      key.startsWith("OPENAI_") ||
      key.startsWith("AUTH_") ||
      key.startsWith("REDIS_") ||
      key === "DATABASE_URL"
    ) {
      delete env[key];
    }
  }
  env.NODE_ENV = "test";
  return env;
}

/** Runs `src/server.ts` expecting it to refuse to start; resolves with its exit code and output. */
export async function runFailingServer(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { output, exited } = spawnServer(env);
  return { code: await exited, output: output() };
}
