// Child processes of the benchmark: the model server and the servers measured, each its own process (so
// CPU time and memory are its own): Node processes spoken to over IPC, and the seed design's Python process
// (bench/systems/seed), measured from /proc.
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { now } from "./clock.js";

/** The repository's root: every child runs there. */
export const root = fileURLToPath(new URL("../..", import.meta.url));
const buildDir = path.join(root, "bench", ".build");

/**
 * A TypeScript entry of the benchmark compiled to one ES module (its packages left in node_modules): every
 * measured process runs JavaScript, as production does, without tsx's loader thread in its CPU and memory.
 * JavaScript entries (the server's own build, dist/server.js) run as they are.
 */
function compiled(entry: string): string {
  if (entry.endsWith(".js")) return path.join(root, entry);
  const outfile = path.join(buildDir, `${entry.replace(/[\\/]/g, "_").replace(/\.ts$/, "")}.mjs`);
  buildSync({
    entryPoints: [path.join(root, entry)],
    outfile,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  return outfile;
}

/** What a measured server reports about itself. */
export interface ProcessStats {
  cpuMs: number;
  /** Since the previous reading: event loop utilization (0..1), and its delay's p99 and maximum, ms. */
  loopBusy: number;
  loopDelayP99: number;
  loopDelayMax: number;
  rss: number;
  heapUsed: number;
  external: number;
}

/** A measured server process, whatever runs it. */
export interface MeasuredProcess {
  readonly name: string;
  readonly pid: number;
  /** Its CPU time and memory now (`gc`: after a full collection, where the runtime can be asked to). */
  stats(gc?: boolean): Promise<ProcessStats>;
  stop(): Promise<void>;
}

/** A forked Node process running an entry point of the benchmark (compiled) or the server's build. */
export class Child implements MeasuredProcess {
  /** Milliseconds to add to this child's clock to read the parent's (see {@link Child.calibrate}). */
  offsetMs = 0;

  private constructor(
    readonly process: ChildProcess,
    readonly name: string,
  ) {}

  static start(
    name: string,
    entry: string,
    options: { env?: NodeJS.ProcessEnv; probe?: boolean; nodeOptions?: string[]; stdout?: boolean } = {},
  ): Child {
    const probe = options.probe ? ["--expose-gc", "--import", compiled("bench/lib/probe.ts")] : [];
    const child = fork(compiled(entry), [], {
      cwd: root,
      execArgv: [...probe, ...(options.nodeOptions ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ["ignore", options.stdout ? "pipe" : "ignore", "pipe", "ipc"],
    });
    const started = new Child(child, name);
    let errors = "";
    child.stderr?.on("data", (data: Buffer) => {
      errors = (errors + data.toString()).slice(-4_000);
    });
    child.on("exit", (code, signal) => {
      if (!started.stopping)
        console.error(`${name} exited (${code ?? signal}) during the benchmark:\n${errors}`);
    });
    return started;
  }

  private stopping = false;

  get pid(): number {
    return this.process.pid ?? 0;
  }

  /** The next IPC message of this type. */
  async receive<T>(type: string, timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.process.off("message", listener);
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (message: { type: string }) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        this.process.off("message", listener);
        resolve(message as T);
      };
      this.process.on("message", listener);
    });
  }

  async ask<T>(message: { type: string; [key: string]: unknown }, reply = message.type): Promise<T> {
    const answer = this.receive<T>(reply);
    this.process.send(message);
    return answer;
  }

  stats(gc = false): Promise<ProcessStats> {
    return this.ask<ProcessStats>({ type: "stats", gc });
  }

  /**
   * Measures how far this child's clock is from the parent's: the IPC round trip with the smallest delay
   * brackets the child's reading most tightly.
   */
  async calibrate(): Promise<void> {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 30; i++) {
      const sent = now();
      const { now: theirs } = await this.ask<{ now: number }>({ type: "clock" });
      const received = now();
      if (received - sent < best) {
        best = received - sent;
        this.offsetMs = (sent + received) / 2 - theirs;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, "exit");
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A port free on loopback now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

/** Waits until `url` answers 200. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const TICKS_PER_SECOND = 100;

/** CPU time (ms, user + system) and resident memory (bytes) of a process, from /proc. */
export function procStats(pid: number): { cpuMs: number; rss: number } {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { cpuMs, rss: rssKb * 1024 };
}

export const SEED_PYTHON = "/usr/bin/python3";
const seedDir = fileURLToPath(new URL("../systems/seed/", import.meta.url));

/**
 * Whether Debian's Python has the seed design's packages, and uvloop and httptools (without them uvicorn
 * runs on asyncio and h11). Throws, naming the install script, when the seed cannot run.
 */
export function seedRuntime(): { uvloop: boolean } {
  const has = (modules: string) =>
    spawnSync(SEED_PYTHON, ["-c", `import ${modules}`], { stdio: "ignore" }).status === 0;
  if (!has("fastapi, uvicorn, sqlmodel, asyncpg, httpx"))
    throw new Error(
      `the seed design needs Debian's python3-fastapi, -uvicorn, -sqlmodel, -asyncpg and -httpx for ${SEED_PYTHON}: run bench/systems/seed/install.sh (as root), or leave seed out of --systems`,
    );
  return { uvloop: has("uvloop, httptools") };
}

/**
 * The seed design (bench/systems/seed/app.py): one uvicorn worker on Debian's Python, measured from /proc
 * (its CPU time and RSS; Python has no heap figure comparable with V8's, and is not asked to collect).
 */
export class PythonServer implements MeasuredProcess {
  private stopping = false;

  private constructor(
    readonly process: ChildProcess,
    readonly name: string,
  ) {}

  get pid(): number {
    return this.process.pid ?? 0;
  }

  static start(name: string, port: number, env: NodeJS.ProcessEnv): PythonServer {
    const { uvloop } = seedRuntime();
    const args = ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", String(port)];
    // One worker; keep-alive as long as the Node systems' (uvicorn's default is 5 s); the same backlog.
    args.push("--workers", "1", "--log-level", "warning", "--timeout-keep-alive", "60", "--backlog", "4096");
    args.push(
      ...(uvloop ? ["--loop", "uvloop", "--http", "httptools"] : ["--loop", "auto", "--http", "auto"]),
    );
    const child = spawn(SEED_PYTHON, args, {
      cwd: seedDir,
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const started = new PythonServer(child, name);
    let errors = "";
    child.stderr?.on("data", (data: Buffer) => {
      errors = (errors + data.toString()).slice(-4_000);
    });
    child.on("exit", (code, signal) => {
      if (!started.stopping)
        console.error(`${name} exited (${code ?? signal}) during the benchmark:\n${errors}`);
    });
    started.takeStderr = () => {
      const taken = errors;
      errors = "";
      return taken;
    };
    return started;
  }

  /** What the process wrote to stderr since the last call (uvicorn logs warnings and errors there). */
  takeStderr: () => string = () => "";

  async stats(): Promise<ProcessStats> {
    const { cpuMs, rss } = procStats(this.pid);
    return {
      cpuMs,
      rss,
      heapUsed: Number.NaN,
      external: Number.NaN,
      loopBusy: Number.NaN,
      loopDelayP99: Number.NaN,
      loopDelayMax: Number.NaN,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, "exit");
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
