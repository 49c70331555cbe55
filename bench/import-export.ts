// Import and export of a large file (issue #20 item 3): a native export of `--conversations` conversations of
// `--messages` messages each is uploaded to a real server (a GraphQL multipart request) and imported, then
// exported again through its download link. Prints the file size, the time each took and the largest heap
// the process held meanwhile (sampled every 20 ms), next to the heap before: the JSON is parsed one
// conversation at a time, so the heap should grow with the upload's bytes (held by the multipart parser),
// not with the parsed document's objects.
//
//   npm run bench:exchange                                PGlite in memory, 2,000 x 10 messages
//   npm run bench:exchange -- --conversations 5000 --messages 20 --postgres
//   npm run bench:exchange -- --attachment-mb 20     the first message also sends a 20 MB file, so the export
//                                                    carries its bytes (base64); that export is imported again
//
// --postgres: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names a server where
// the database `bench_import_export` is (re)created. Not a test: it prints figures.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { SignJWT } from "jose";
import pg from "pg";
import { createHttpServer } from "../src/app/http-server.js";
import { createRuntime } from "../src/app/runtime.js";
import { loadConfig } from "../src/core/config.js";
import type { DatabaseTarget } from "../src/db/adapter.js";
import { linkAttachments } from "../src/db/attachments.js";
import { createLogger } from "../src/observability/logger.js";

const { values: options } = parseArgs({
  options: {
    conversations: { type: "string", default: "2000" },
    messages: { type: "string", default: "10" },
    postgres: { type: "boolean", default: false },
    "attachment-mb": { type: "string", default: "0" },
  },
});
const ATTACHMENT_BYTES = Math.round(Number(options["attachment-mb"]) * 1e6);
const CONVERSATIONS = Number(options.conversations);
const MESSAGES = Number(options.messages);
const SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789";
const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

function exportFile(): string {
  const at = new Date("2026-01-01T00:00:00Z").toISOString();
  const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(7);
  const conversations = Array.from({ length: CONVERSATIONS }, (_, c) => {
    const messages = Array.from({ length: MESSAGES }, (_, m) => ({
      id: `c${c}m${m}`,
      parentId: m === 0 ? null : `c${c}m${m - 1}`,
      role: m % 2 === 0 ? "USER" : "ASSISTANT",
      content: `${m}: ${text}`,
      status: "COMPLETE",
      createdAt: at,
      model: m % 2 === 0 ? null : "gpt-bench",
      usage: m % 2 === 0 ? null : { promptTokens: 100, completionTokens: 50, totalTokens: 150 },
      feedback: null,
      toolCalls: [],
      attachments: [],
    }));
    return {
      id: `c${c}`,
      title: `Conversation ${c}`,
      createdAt: at,
      updatedAt: at,
      pinnedAt: null,
      tags: [],
      activeLeafId: `c${c}m${MESSAGES - 1}`,
      messages,
    };
  });
  return JSON.stringify({ format: "chat-graphql-export", version: 1, conversations });
}

async function target(): Promise<DatabaseTarget> {
  if (!options.postgres) return { kind: "pglite", dataDir: null };
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query("DROP DATABASE IF EXISTS bench_import_export WITH (FORCE)");
  await client.query("CREATE DATABASE bench_import_export");
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = "/bench_import_export";
  return { kind: "postgres", url: url.toString(), poolSize: 5 };
}

/** Runs `work` while sampling the heap; returns its duration and the largest heap seen. */
async function measured<T>(work: () => Promise<T>) {
  let peak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  const result = await work();
  const ms = Math.round(performance.now() - started);
  clearInterval(sampler);
  return { result, ms, peakHeapMb: Math.round(peak / 1e6) };
}

const body = exportFile();
const config = loadConfig({
  NODE_ENV: "test",
  AUTH_JWT_SECRET: SECRET,
  IMPORT_MAX_BYTES: String(2 * body.length + 2 * ATTACHMENT_BYTES + 1_000_000),
  ATTACHMENT_MAX_BYTES: String(Math.max(ATTACHMENT_BYTES, 1_000_000)),
});
const runtime = await createRuntime(config, createLogger({ level: "warn" }), { target: await target() });
const { app, server, websockets } = createHttpServer(runtime);
server.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
runtime.listeningAt(url);
const bearer = async (user: string) =>
  `Bearer ${await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(SECRET))}`;
const authorization = await bearer("bench-user");

/** A GraphQL multipart request with `content` as `variables.file`; the answer's `data`. */
async function upload(query: string, content: Blob, as: string) {
  const form = new FormData();
  form.set("operations", JSON.stringify({ query, variables: { file: null } }));
  form.set("map", JSON.stringify({ 0: ["variables.file"] }));
  form.set("0", content, "file");
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { authorization: as },
    body: form,
  });
  const answer = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (!answer.data) throw new Error(JSON.stringify(answer.errors));
  return answer.data;
}
const IMPORT =
  "mutation($file: File!) { importConversations(input: { file: $file, format: NATIVE }) { skippedMessages conversations { id } } }";

global.gc?.();
const heapBeforeMb = Math.round(process.memoryUsage().heapUsed / 1e6);
const imported = await measured(async () => {
  const data = (await upload(IMPORT, new Blob([body]), authorization)) as {
    importConversations: { conversations: unknown[] };
  };
  return data.importConversations.conversations.length;
});
global.gc?.();
const heapAfterImportMb = Math.round(process.memoryUsage().heapUsed / 1e6);
if (ATTACHMENT_BYTES > 0) {
  const data = (await upload(
    "mutation($file: File!) { uploadAttachment(input: { file: $file }) { attachment { id } } }",
    new Blob([randomBytes(ATTACHMENT_BYTES)]),
    authorization,
  )) as { uploadAttachment: { attachment: { id: string } } };
  const first = await runtime.prisma.message.findFirstOrThrow({
    where: { ownerId: "bench-user" },
    orderBy: [{ conversationId: "asc" }, { position: "asc" }],
  });
  await linkAttachments(runtime.prisma, "bench-user", first.id, [
    decodeGlobalID(data.uploadAttachment.attachment.id).id,
  ]);
}
async function exportLink(): Promise<string> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { authorization, "content-type": "application/json" },
    body: JSON.stringify({ query: "mutation { exportConversations(input: {}) { url } }" }),
  });
  return ((await response.json()) as { data: { exportConversations: { url: string } } }).data
    .exportConversations.url;
}
const exported = await measured(async () => {
  const download = await fetch(await exportLink());
  let bytes = 0;
  for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
  return bytes;
});

// The export (with the file's bytes) imported again, by another user.
let reimport: { ms: number; peakHeapMb: number; fileMb: number } | null = null;
if (ATTACHMENT_BYTES > 0) {
  const file = new Blob([await (await fetch(await exportLink())).arrayBuffer()]);
  const as = await bearer("bench-user-2");
  global.gc?.();
  const again = await measured(() => upload(IMPORT, file, as));
  reimport = { ms: again.ms, peakHeapMb: again.peakHeapMb, fileMb: Number((file.size / 1e6).toFixed(1)) };
}

console.log(
  JSON.stringify(
    {
      database: options.postgres ? "postgresql" : "pglite",
      conversations: CONVERSATIONS,
      messagesEach: MESSAGES,
      fileMb: Number((body.length / 1e6).toFixed(1)),
      heapBeforeMb,
      import: {
        ms: imported.ms,
        conversations: imported.result,
        peakHeapMb: imported.peakHeapMb,
        // With --expose-gc: what is still held once the import is done.
        heapAfterMb: heapAfterImportMb,
      },
      export: {
        ms: exported.ms,
        mb: Number((exported.result / 1e6).toFixed(1)),
        peakHeapMb: exported.peakHeapMb,
      },
      attachmentMb: ATTACHMENT_BYTES / 1e6,
      reimport,
    },
    null,
    2,
  ),
);
await websockets.dispose();
server.closeAllConnections();
server.close();
await runtime.close();
await app.dispose();
