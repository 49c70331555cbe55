// The systems the streaming scenarios measure, each started as its own process: our server, the two
// baselines of issue #9 relaying the same model stream, and the seed design of issue #15 (the FastAPI +
// SQLModel server this product replaced, bench/systems/seed).
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { SignJWT } from "jose";
import pg from "pg";
import { startFlags } from "../../scripts/start-flags.mjs";
import { Child, freePort, type MeasuredProcess, PythonServer, root, waitForHttp } from "./processes.js";
import type { StreamRequest } from "./sse-client.js";

export type SystemName = "raw" | "graphql-sse" | "seed" | "server";

export const SYSTEM_NAMES: SystemName[] = ["raw", "graphql-sse", "seed", "server"];

export const SYSTEM_LABELS: Record<SystemName, string> = {
  raw: "(a) node:http SSE relay",
  "graphql-sse": "(b) graphql-js + graphql-sse",
  seed: "(c) seed design: FastAPI + SQLModel",
  server: "this server",
};

/** The database each system with one gets, recreated for each run on BENCH_POSTGRES_URL's server. */
export const SYSTEM_DATABASES: Partial<Record<SystemName, string>> = {
  seed: `bench_seed${databaseSuffix()}`,
  server: `bench_stream${databaseSuffix()}`,
};

/** BENCH_DATABASE_SUFFIX keeps the databases of two benches run at once on one PostgreSQL apart. */
function databaseSuffix(): string {
  const suffix = process.env.BENCH_DATABASE_SUFFIX ?? "";
  if (!/^[a-z0-9_]*$/.test(suffix)) throw new Error("BENCH_DATABASE_SUFFIX: lower-case letters, digits, _");
  return suffix;
}

/** A measured system, running. */
export interface RunningSystem {
  name: SystemName;
  child: MeasuredProcess;
  baseUrl: string;
  /** Its database's name (whose PostgreSQL backends' CPU is its), or null. */
  database: string | null;
  /** The request that opens stream `index`; `load` keeps users apart between loads. */
  open: (load: string, index: number) => StreamRequest | Promise<StreamRequest>;
  /** The assistant reply the system saved for stream `index` of `load` (systems with a database). */
  savedReply?: (load: string, index: number) => Promise<string | null>;
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
      database: null,
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

  if (name === "seed") return startSeed(modelUrl, options.databaseUrl, port, baseUrl);

  // The production build (`npm run build`, done once by the bench before it starts any server), with the
  // Node flags `npm start` gives it.
  const child = Child.start("server", "dist/server.js", {
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
      // The seed design names no conversation: a title request per new conversation is not streaming work.
      TITLE_GENERATION: "false",
    },
    probe: true,
    nodeOptions: [...startFlags(root), ...nodeOptions],
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
  const key = new TextEncoder().encode(SECRET);
  // One user per stream: the default limits allow a user 20 sends a minute and 3 replies at once.
  const sign = (load: string, i: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(`bench-${load}-${i}`)
      .setExpirationTime("1h")
      .sign(key);
  const database = new DatabaseReader(options.databaseUrl);
  return {
    name,
    child,
    baseUrl,
    database: new URL(options.databaseUrl).pathname.slice(1),
    prepare: async (load, count) => {
      for (let i = 0; i < count; i++) tokens.set(`${load}/${i}`, await sign(load, i));
    },
    // Streams beyond those prepared (the closed loops of the compare scenario) sign their token here.
    open: async (load, i) => ({
      path: "/graphql/stream",
      headers: { authorization: `Bearer ${tokens.get(`${load}/${i}`) ?? (await sign(load, i))}` },
      body: JSON.stringify({ query: SEND, variables: { input: { content: `Question ${i} of ${load}` } } }),
    }),
    savedReply: (load, i) =>
      database.one(
        `SELECT a.content FROM "Message" u JOIN "Message" a ON a."conversationId" = u."conversationId" AND a.role = 'ASSISTANT'
         WHERE u.role = 'USER' AND u.content = $1`,
        [`Question ${i} of ${load}`],
      ),
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
    stop: async () => {
      await database.end();
      await child.stop();
    },
  };
}

/** Reads what a system saved, on its own connection, once the load is over. */
class DatabaseReader {
  private client: pg.Client | null = null;

  constructor(private readonly url: string) {}

  async one(sql: string, values: unknown[]): Promise<string | null> {
    if (this.client === null) {
      this.client = new pg.Client({ connectionString: this.url });
      await this.client.connect();
    }
    const { rows } = await this.client.query<{ content: string }>(sql, values);
    return rows[0]?.content ?? null;
  }

  async end(): Promise<void> {
    await this.client?.end();
    this.client = null;
  }
}

/**
 * The seed design (bench/systems/seed/app.py) on its own database: `POST /api/chat/stream?message=…` opens a
 * new conversation per stream; its tables are created when it starts.
 */
async function startSeed(
  modelUrl: string,
  databaseUrl: string,
  port: number,
  baseUrl: string,
): Promise<RunningSystem> {
  const child = PythonServer.start("seed", port, {
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: "20",
    MODEL_URL: `${modelUrl}/v1`,
    MODEL_NAME: "bench",
  });
  await waitForHttp(`${baseUrl}/healthz`);
  const database = new DatabaseReader(databaseUrl);
  const message = (load: string, i: number) => `Question ${i} of ${load}`;
  return {
    name: "seed",
    child,
    baseUrl,
    database: new URL(databaseUrl).pathname.slice(1),
    open: (load, i) => ({
      path: `/api/chat/stream?message=${encodeURIComponent(message(load, i))}`,
      headers: {},
      body: "",
    }),
    savedReply: (load, i) =>
      database.one(
        `SELECT a.content FROM message u JOIN message a ON a.conversation_id = u.conversation_id AND a.role = 'assistant'
         WHERE u.role = 'user' AND u.content = $1`,
        [message(load, i)],
      ),
    prepare: async () => {},
    takeWrites: () => [],
    takeErrors: () => {
      const lines = child
        .takeStderr()
        .split("\n")
        .filter((line) => /error|exception|traceback/i.test(line));
      return lines.slice(0, 5);
    },
    stop: async () => {
      await database.end();
      await child.stop();
    },
  };
}
