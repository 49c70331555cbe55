// The three systems the streaming scenarios measure, each started as its own process: our server, and the
// two baselines of issue #9 relaying the same model stream.
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { SignJWT } from "jose";
import { Child, freePort, waitForHttp } from "./processes.js";
import type { StreamRequest } from "./sse-client.js";

export type SystemName = "raw" | "graphql-sse" | "server";

export const SYSTEM_LABELS: Record<SystemName, string> = {
  raw: "(a) node:http SSE relay",
  "graphql-sse": "(b) graphql-js + graphql-sse",
  server: "this server",
};

/** A measured system, running. */
export interface RunningSystem {
  name: SystemName;
  child: Child;
  baseUrl: string;
  /** The request that opens stream `index`; `load` keeps users apart between loads. */
  open: (load: string, index: number) => StreamRequest;
  /** Prepares `count` streams of a load (our server signs a token per user). */
  prepare: (load: string, count: number) => Promise<void>;
  /** Database writes per reply, as the server counted them, for the replies ended since the last call. */
  takeWrites: () => number[];
  /** The first error lines the server logged since the last call. */
  takeErrors: () => string[];
  stop: () => Promise<void>;
}

const SECRET = "bench-secret-bench-secret-bench-secret-0123456789";
const SEND = `subscription Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    __typename
    ... on TextDelta { seq delta }
    ... on MessageCreated { seq message { id } }
    ... on MessageCompleted { seq message { status } }
  }
}`;
const RELAY = "subscription Relay($prompt: String!) { reply(prompt: $prompt) { seq delta } }";

export async function startSystem(
  name: SystemName,
  modelUrl: string,
  options: { databaseUrl: string; nodeOptions?: string[] },
): Promise<RunningSystem> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const nodeOptions = options.nodeOptions ?? [];
  if (name === "raw" || name === "graphql-sse") {
    const entry = name === "raw" ? "bench/systems/raw-relay.ts" : "bench/systems/graphql-sse-relay.ts";
    const child = Child.start(name, entry, {
      env: { PORT: String(port), MODEL_URL: `${modelUrl}/v1` },
      probe: true,
      nodeOptions,
    });
    await waitForHttp(`${baseUrl}/healthz`);
    const body =
      name === "raw"
        ? (load: string, i: number) => JSON.stringify({ prompt: `${load} ${i}` })
        : (load: string, i: number) =>
            JSON.stringify({ query: RELAY, variables: { prompt: `${load} ${i}` } });
    return {
      name,
      child,
      baseUrl,
      open: (load, i) => ({
        path: name === "raw" ? "/stream" : "/graphql",
        headers: {},
        body: body(load, i),
      }),
      prepare: async () => {},
      takeWrites: () => [],
      takeErrors: () => [],
      stop: () => child.stop(),
    };
  }

  const child = Child.start("server", "src/server.ts", {
    env: {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
      DATABASE_URL: options.databaseUrl,
      DATABASE_POOL_SIZE: "20",
      AUTH_JWT_SECRET: SECRET,
      OPENAI_BASE_URL: `${modelUrl}/v1`,
      OPENAI_API_KEY: "bench",
      OPENAI_MODEL: "bench",
      OPENAI_MAX_RETRIES: "0",
      REDIS_URL: "",
      // Loads cut short leave replies running: a short grace, then they are cancelled and saved.
      SHUTDOWN_GRACE_MS: "1000",
      MCP_CONFIG: "",
    },
    probe: true,
    nodeOptions,
    stdout: true,
  });
  // The server's log says how many database writes each reply made ("reply ended").
  let writes: number[] = [];
  let errors: string[] = [];
  const stdout = child.process.stdout;
  if (!stdout) throw new Error("the server's log is not piped");
  const lines = createInterface({ input: stdout });
  // BENCH_SERVER_LOG=<file> keeps the server's whole log, to see where time goes.
  const log = process.env.BENCH_SERVER_LOG ? createWriteStream(process.env.BENCH_SERVER_LOG) : null;
  lines.on("line", (line) => {
    log?.write(`${line}\n`);
    if (/"level":(50|60)/.test(line) && errors.length < 5) errors.push(line.slice(0, 600));
    if (!line.includes('"reply ended"')) return;
    const entry = JSON.parse(line) as { writes?: number };
    if (typeof entry.writes === "number") writes.push(entry.writes);
  });
  await waitForHttp(`${baseUrl}/healthz`);
  const tokens = new Map<string, string>();
  return {
    name,
    child,
    baseUrl,
    prepare: async (load, count) => {
      const key = new TextEncoder().encode(SECRET);
      for (let i = 0; i < count; i++) {
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(`bench-${load}-${i}`)
          .setExpirationTime("1h")
          .sign(key);
        tokens.set(`${load}/${i}`, token);
      }
    },
    open: (load, i) => ({
      path: "/graphql/stream",
      headers: { authorization: `Bearer ${tokens.get(`${load}/${i}`)}` },
      body: JSON.stringify({ query: SEND, variables: { input: { content: `Question ${i} of ${load}` } } }),
    }),
    takeWrites: () => {
      const taken = writes;
      writes = [];
      return taken;
    },
    takeErrors: () => {
      const taken = errors;
      errors = [];
      return taken;
    },
    stop: () => child.stop(),
  };
}
