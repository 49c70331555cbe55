// Upload memory benchmark (issue #19): the server's resident memory while 20 clients upload 20 MB each
// at once, streamed as GraphQL multipart requests, with each attachment store.
//
//   npm run bench:uploads                                  database store on PostgreSQL, then the folder store
//   npm run bench:uploads -- --clients 20 --mb 20 --only postgres|pglite|folder
//   npm run bench:uploads -- --node-options=--max-old-space-size=128    the same with a small V8 heap
//
// The server runs as its own process (as `npm start`, from source with tsx); its RSS is sampled from
// /proc/<pid>/status every 20 ms (and VmHWM, the kernel's own peak). Each client streams distinct
// pseudo-random bytes (so nothing is deduplicated) without holding its file either. PostgreSQL:
// BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names a server where the
// database `bench_uploads` is (re)created. Not a test: it prints figures.
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import pg from "pg";
import { startServerProcess } from "../test/utils/process.js";

const { values: options } = parseArgs({
  options: {
    clients: { type: "string", default: "20" },
    mb: { type: "string", default: "20" },
    only: { type: "string" },
    /** Passed to the server as NODE_OPTIONS, e.g. "--max-old-space-size=128" to show what stays live. */
    "node-options": { type: "string" },
  },
});
const CLIENTS = Number(options.clients);
const BYTES = Number(options.mb) * 1024 * 1024;
const CHUNK = 64 * 1024;
const SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789";
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const UPLOAD =
  "mutation($file: File!) { uploadAttachment(input: { file: $file }) { attachment { id size } } }";

interface Setup {
  name: string;
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

async function postgresSetup(): Promise<Setup> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query("DROP DATABASE IF EXISTS bench_uploads WITH (FORCE)");
  await admin.query("CREATE DATABASE bench_uploads");
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = "/bench_uploads";
  return {
    name: "database store, PostgreSQL",
    env: { DATABASE_URL: url.toString(), ATTACHMENT_STORE: "database" },
    cleanup: async () => {},
  };
}

async function directorySetup(name: string, env: Record<string, string>): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-uploads-"));
  return {
    name,
    env: { DATA_DIR: dir, ATTACHMENT_DIR: path.join(dir, "attachments"), ...env },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** RSS and its peak (VmHWM) of a process, in MB. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** A multipart body streamed chunk by chunk: the operations, the map, then `size` pseudo-random bytes. */
function multipartBody(size: number, filename: string): { body: ReadableStream<Uint8Array>; type: string } {
  const boundary = `bench${Math.random().toString(36).slice(2)}`;
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n` +
      `${JSON.stringify({ query: UPLOAD, variables: { file: null } })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${filename}"\r\n` +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  let sent = -1;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === -1) {
        controller.enqueue(head);
        sent = 0;
      } else if (sent < size) {
        const chunk = randomFillSync(new Uint8Array(Math.min(CHUNK, size - sent)));
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      } else {
        controller.enqueue(tail);
        controller.close();
      }
    },
  });
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

async function upload(url: string, token: string, i: number): Promise<number> {
  const { body, type } = multipartBody(BYTES, `client-${i}.bin`);
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1", "content-type": type },
    body,
    duplex: "half",
  } as RequestInit);
  const answer = (await response.json()) as {
    data?: { uploadAttachment: { attachment: { size: number } } };
    errors?: unknown;
  };
  if (!answer.data) throw new Error(`upload ${i} failed: ${JSON.stringify(answer.errors)}`);
  return answer.data.uploadAttachment.attachment.size;
}

async function measure(setup: Setup) {
  const server = await startServerProcess(
    {
      ...setup.env,
      AUTH_JWT_SECRET: SECRET,
      ATTACHMENT_MAX_BYTES: String(BYTES),
      ATTACHMENT_QUOTA_BYTES: String(BYTES * CLIENTS * 2),
      RATE_LIMIT_REQUESTS_PER_MINUTE: "100000",
      DATABASE_POOL_SIZE: "20",
      ...(options["node-options"] ? { NODE_OPTIONS: options["node-options"] } : {}),
    },
    { startupTimeoutMs: 120_000 },
  );
  const pid = server.child.pid as number;
  try {
    const tokens = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(`bench-${i}`)
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(SECRET)),
      ),
    );
    // One small upload first, so lazily loaded code (file-type, the multipart parser) is in before the baseline.
    await warmUp(server.url, tokens[0] as string);
    await new Promise((r) => setTimeout(r, 1_000));
    const before = memoryOf(pid);
    let peak = before.rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryOf(pid).rss);
    }, 20);
    const started = performance.now();
    const sizes = await Promise.all(tokens.map((t, i) => upload(server.url, t, i)));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const after = memoryOf(pid);
    const total = sizes.reduce((a, b) => a + b, 0);
    return {
      store: setup.name,
      clients: CLIENTS,
      mbEach: BYTES / 1024 / 1024,
      seconds: round(seconds),
      mbPerSecond: round(total / 1024 / 1024 / seconds),
      rssBeforeMb: round(before.rss),
      rssPeakMb: round(Math.max(peak, after.rss)),
      rssGrowthMb: round(Math.max(peak, after.rss) - before.rss),
      vmHwmMb: round(after.hwm),
      rssAfterMb: round(after.rss),
    };
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

async function warmUp(url: string, token: string) {
  const form = new FormData();
  form.set("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
  form.set("map", JSON.stringify({ 0: ["variables.file"] }));
  form.set("0", new File([new TextEncoder().encode("warm up")], "warm.txt"));
  await fetch(`${url}/graphql`, {
    method: "POST",
    body: form,
    headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" },
  });
}

const round = (n: number) => Math.round(n * 10) / 10;

const setups: (() => Promise<Setup>)[] = [];
if (!options.only || options.only === "postgres") setups.push(postgresSetup);
if (!options.only || options.only === "folder")
  setups.push(() => directorySetup("folder store (PGlite for the rows)", { ATTACHMENT_STORE: "folder" }));
if (options.only === "pglite")
  setups.push(() => directorySetup("database store, PGlite", { ATTACHMENT_STORE: "database" }));

console.log(
  `node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
for (const make of setups) {
  const setup = await make();
  try {
    console.log(JSON.stringify(await measure(setup)));
  } finally {
    await setup.cleanup();
  }
}
