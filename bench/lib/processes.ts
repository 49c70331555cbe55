// Child processes of the benchmark: the model server and the servers measured, each its own Node process
// (so CPU time and memory are its own), spoken to over IPC.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { now } from "./clock.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const probe = fileURLToPath(new URL("./probe.ts", import.meta.url));

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

/** A forked Node process running a TypeScript entry point through tsx. */
export class Child {
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
    const execArgv = ["--import", "tsx", ...(options.probe ? ["--expose-gc", "--import", probe] : [])];
    const child = fork(entry, [], {
      cwd: root,
      execArgv: [...execArgv, ...(options.nodeOptions ?? [])],
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
