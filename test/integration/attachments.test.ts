import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ApolloClient, InMemoryCache } from "@apollo/client";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { encodeGlobalID } from "@pothos/plugin-relay";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { print } from "graphql";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobTooLargeError } from "../../src/db/blobs.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { noisePng, pdfWithText } from "../fixtures/files.js";
import type { AttachmentFieldsFragment as Attachment } from "../generated/graphql.js";
import { DeleteAttachment, MessageAttachments, UploadAttachment } from "../utils/attachment-operations.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { DeleteConversation, EditMessage, ForkConversation, SendMessage } from "../utils/operations.js";
import { type GraphQLResponse, startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, type StreamResult, yogaSSE } from "../utils/sse.js";
import type { StreamEvent } from "../utils/stream-events.js";

type Streamed = Record<string, StreamEvent | undefined>;

const MAX_BYTES = 600_000;
const QUOTA = 1_500_000;
const TTL = 60;
const UPLOAD = print(UploadAttachment);

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe.each(testDatabaseKinds())("attachments on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
      ATTACHMENT_QUOTA_BYTES: String(QUOTA),
      ATTACHMENTS_PER_MESSAGE: "3",
      ATTACHMENT_URL_TTL_SECONDS: String(TTL),
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function freshUser() {
    token = await tokenFor(`user-${randomUUID()}`);
    return token;
  }

  /** Uploads through Apollo Client's upload link (a real GraphQL multipart request). */
  async function upload(bytes: Uint8Array, filename: string, type = "application/octet-stream", as = token) {
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new UploadHttpLink({
        uri: `${server.url}/graphql`,
        headers: { authorization: `Bearer ${as}`, "apollo-require-preflight": "true" },
      }),
    });
    const result = await client.mutate({
      mutation: UploadAttachment,
      variables: { file: new File([bytes as Uint8Array<ArrayBuffer>], filename, { type }) },
      errorPolicy: "all",
    });
    const errors = (result.error as { errors?: GraphQLResponse<unknown>["errors"] } | undefined)?.errors;
    return {
      attachment: result.data?.uploadAttachment.attachment ?? null,
      code: errors?.[0]?.extensions?.code,
      errors,
    };
  }

  /** A hand-made multipart request, for the refusals a client library would not send. */
  async function rawUpload(
    bytes: Uint8Array,
    filename: string,
    headers: Record<string, string> = { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" },
  ) {
    const form = new FormData();
    form.set("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.set("map", JSON.stringify({ 0: ["variables.file"] }));
    form.set("0", new File([bytes as Uint8Array<ArrayBuffer>], filename));
    const response = await fetch(`${server.url}/graphql`, { method: "POST", body: form, headers });
    const body = (await response.json()) as GraphQLResponse<unknown>;
    return { status: response.status, code: body.errors?.[0]?.extensions?.code, body };
  }

  async function stream<V>(document: TypedDocumentNode<Streamed, V>, variables: V, as = token) {
    const results: StreamResult<Streamed>[] = await collect(
      yogaSSE(server.url, document, variables, as),
      (r) => Object.values(r.data ?? {})[0]?.__typename === "MessageCompleted",
    );
    const code = results[0]?.errors?.[0]?.extensions?.code as string | undefined;
    const events = results.flatMap((r) => Object.values(r.data ?? {}).filter((e) => e !== undefined));
    const created = events.flatMap((e) => (e.__typename === "MessageCreated" ? [e.message] : []));
    return { events, code, created };
  }

  async function counts() {
    const p = server.db.prisma;
    const [blobs, chunks, attachments, links, messages] = await Promise.all([
      p.blob.count(),
      p.blobChunk.count(),
      p.attachment.count(),
      p.messageAttachment.count(),
      p.message.count(),
    ]);
    return { blobs, chunks, attachments, links, messages };
  }

  async function message(id: string, as = token) {
    const response = await server.request(MessageAttachments, { id }, as);
    expect(response.errors).toBeUndefined();
    const node = response.data?.node;
    if (node?.__typename !== "Message") throw new Error(`not a message: ${node?.__typename}`);
    return { content: node.content, attachments: node.attachments };
  }

  it("uploads through Apollo's upload link and downloads the same bytes by the signed url, with no token", async () => {
    await freshUser();
    const png = await noisePng(400, 300); // over one 256 KB chunk
    const { attachment, errors } = await upload(png, "photo.png", "image/png");
    expect(errors).toBeUndefined();
    expect(attachment).toMatchObject({
      filename: "photo.png",
      contentType: "image/png",
      size: png.length,
      sha256: sha256(png),
      kind: "IMAGE",
    });
    const a = attachment as Attachment;
    expect(a.url).toMatch(new RegExp(`^${server.url}/attachments/[0-9a-f-]{36}\\?expires=\\d+&sig=`));
    const blob = await server.db.prisma.blob.findUniqueOrThrow({ where: { sha256: a.sha256 } });
    expect(await server.db.prisma.blobChunk.count({ where: { blobId: blob.id } })).toBe(2);
    const response = await fetch(a.url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-disposition")).toBe(
      `inline; filename="photo.png"; filename*=UTF-8''photo.png`,
    );
    expect(Buffer.from(await response.arrayBuffer()).equals(png)).toBe(true);
  });

  it("sniffs the type from the bytes, never the client's word, and serves what is not an image as a download", async () => {
    await freshUser();
    const text = await upload(Buffer.from("# Notes\nhello"), "notes.md", "image/png");
    expect(text.attachment).toMatchObject({ kind: "TEXT", contentType: "text/markdown; charset=utf-8" });
    const html = await upload(Buffer.from("<script>alert(1)</script>"), "page.html", "text/html");
    expect(html.attachment).toMatchObject({ kind: "TEXT", contentType: "text/plain; charset=utf-8" });
    const pdf = await upload(pdfWithText("Hello PDF"), "doc.pdf", "text/plain");
    expect(pdf.attachment).toMatchObject({ kind: "PDF", contentType: "application/pdf" });
    const binary = await upload(Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]), "data.bin");
    expect(binary.attachment).toMatchObject({ kind: "OTHER", contentType: "application/octet-stream" });
    const gif = await upload(
      await sharp({ create: { width: 2, height: 2, channels: 3, background: "#00f" } })
        .gif()
        .toBuffer(),
      "x.txt",
      "text/plain",
    );
    expect(gif.attachment).toMatchObject({ kind: "IMAGE", contentType: "image/gif" });

    const served = await fetch((html.attachment as Attachment).url);
    expect(served.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(served.headers.get("content-disposition")).toMatch(/^attachment; filename="page.html"/);
    expect(served.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(await served.text()).toBe("<script>alert(1)</script>");
  });

  it("refuses a file over the size limit, over the quota, empty, without a CSRF header or a token, writing nothing", async () => {
    await freshUser();
    const before = await counts();
    const big = await rawUpload(randomBytes(MAX_BYTES + 1), "big.bin");
    expect(big).toMatchObject({ status: 413, code: "BAD_USER_INPUT" });
    const empty = await rawUpload(new Uint8Array(0), "empty.txt");
    expect(empty.code).toBe("BAD_USER_INPUT");
    // A cross-site form (no header a page could add without a preflight) is refused before anything runs.
    const forged = await rawUpload(Buffer.from("hi"), "a.txt", {});
    expect(forged).toMatchObject({ status: 403, code: "FORBIDDEN" });
    const anonymous = await rawUpload(Buffer.from("hi"), "a.txt", { "apollo-require-preflight": "1" });
    expect(anonymous.code).toBe("UNAUTHENTICATED");
    // The store itself stops a stream at the limit and keeps nothing of what it had written (two chunks).
    const stream = new Blob([randomBytes(700_000)]).stream();
    await expect(server.runtime.blobs.put(stream, 600_000)).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(await counts()).toEqual(before);

    // Up to the quota, then refused with nothing stored.
    for (let i = 0; i < 2; i++)
      expect((await upload(randomBytes(MAX_BYTES), `f${i}.bin`)).errors).toBeUndefined();
    const stored = await counts();
    const over = await upload(randomBytes(QUOTA - 2 * MAX_BYTES + 1), "over.bin");
    expect(over.code).toBe("BAD_USER_INPUT");
    expect(over.errors?.[0]?.extensions?.limit).toBe("attachmentQuota");
    expect(await counts()).toEqual(stored);
    // Exactly the rest of the quota fits.
    expect((await upload(randomBytes(QUOTA - 2 * MAX_BYTES), "rest.bin")).errors).toBeUndefined();
  });

  it("answers malformed multipart requests with 400 BAD_USER_INPUT, writing nothing", async () => {
    await freshUser();
    const before = await counts();
    const operations = JSON.stringify({ query: UPLOAD, variables: { file: null } });
    const cases: [string, [string, string | File][]][] = [
      ["no operations", [["map", "{}"]]],
      [
        "operations not JSON",
        [
          ["operations", "{"],
          ["map", "{}"],
        ],
      ],
      [
        "map not JSON",
        [
          ["operations", operations],
          ["map", "["],
        ],
      ],
      [
        "a file before map",
        [
          ["operations", operations],
          ["0", new File(["x"], "x.txt")],
          ["map", '{"0":["variables.file"]}'],
        ],
      ],
      [
        "map naming a missing file",
        [
          ["operations", operations],
          ["map", '{"1":["variables.file"]}'],
        ],
      ],
      [
        "a path through __proto__",
        [
          ["operations", operations],
          ["map", '{"0":["__proto__.polluted"]}'],
          ["0", new File(["x"], "x.txt")],
        ],
      ],
      [
        "a path to nowhere",
        [
          ["operations", operations],
          ["map", '{"0":["variables.a.b"]}'],
          ["0", new File(["x"], "x.txt")],
        ],
      ],
      [
        "a third field",
        [
          ["operations", operations],
          ["map", "{}"],
          ["extra", "1"],
        ],
      ],
    ];
    for (const [name, parts] of cases) {
      const form = new FormData();
      for (const [key, value] of parts) form.append(key, value);
      const response = await fetch(`${server.url}/graphql`, {
        method: "POST",
        body: form,
        headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" },
      });
      const body = (await response.json()) as GraphQLResponse<unknown>;
      expect([response.status, body.errors?.[0]?.extensions?.code], name).toEqual([400, "BAD_USER_INPUT"]);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await counts()).toEqual(before);
  });

  it("stores identical bytes once, counts them against each uploader's quota, and frees them when the last goes", async () => {
    const bytes = randomBytes(300_000);
    const first = await freshUser();
    const a = (await upload(bytes, "a.bin")).attachment as Attachment;
    const again = (await upload(bytes, "again.bin")).attachment as Attachment;
    const second = await freshUser();
    const b = (await upload(bytes, "b.bin")).attachment as Attachment;
    expect(new Set([a.sha256, again.sha256, b.sha256]).size).toBe(1);
    const p = server.db.prisma;
    expect(await p.blob.count({ where: { sha256: a.sha256 } })).toBe(1);
    expect(await p.attachment.count({ where: { sha256: a.sha256 } })).toBe(3);
    const blob = await p.blob.findUniqueOrThrow({ where: { sha256: a.sha256 } });
    expect(await p.blobChunk.count({ where: { blobId: blob.id } })).toBe(2);
    // Quota: each upload counts its size.
    const used = await p.attachment.groupBy({
      by: ["ownerId"],
      where: { sha256: a.sha256 },
      _sum: { size: true },
    });
    expect(used.map((u) => u._sum.size).sort()).toEqual([300_000, 600_000]);

    for (const [id, as] of [
      [a.id, first],
      [again.id, first],
    ] as const) {
      const deleted = await server.request(DeleteAttachment, { id }, as);
      expect(deleted.data?.deleteAttachment.deletedId).toBe(id);
      expect(await p.blob.count({ where: { sha256: a.sha256 } })).toBe(1);
    }
    await server.request(DeleteAttachment, { id: b.id }, second);
    expect(await p.blob.count({ where: { sha256: a.sha256 } })).toBe(0);
    expect(await p.blobChunk.count({ where: { blobId: blob.id } })).toBe(0);
    // Gone is gone: deleting again, or downloading, finds nothing.
    expect((await server.request(DeleteAttachment, { id: b.id }, second)).errors?.[0]?.extensions?.code).toBe(
      "NOT_FOUND",
    );
    expect((await fetch(b.url)).status).toBe(404);
  });

  it("answers NOT_FOUND for another user's attachment, and refuses bad attachmentIds writing nothing", async () => {
    const owner = await freshUser();
    const theirs = (await upload(Buffer.from("secret"), "secret.txt")).attachment as Attachment;
    const mine = await freshUser();
    const own = (await upload(Buffer.from("mine"), "mine.txt")).attachment as Attachment;
    expect(
      (await server.request(DeleteAttachment, { id: theirs.id }, mine)).errors?.[0]?.extensions?.code,
    ).toBe("NOT_FOUND");
    const node = await server.request(MessageAttachments, { id: theirs.id }, mine);
    expect(node.data?.node).toBeNull();
    expect((await server.request(MessageAttachments, { id: theirs.id }, owner)).data?.node).toMatchObject({
      filename: "secret.txt",
    });

    const before = await counts();
    const refusals: [string[], string][] = [
      [[theirs.id], "NOT_FOUND"],
      [[own.id, theirs.id], "NOT_FOUND"],
      [[own.id, own.id], "BAD_USER_INPUT"],
      [["not-an-id"], "BAD_USER_INPUT"],
      [[encodeGlobalID("Message", randomUUID())], "NOT_FOUND"],
      [[own.id, own.id, own.id, own.id], "BAD_USER_INPUT"],
    ];
    for (const [attachmentIds, code] of refusals) {
      const sent = await stream(SendMessage, { input: { content: "look", attachmentIds } });
      expect(sent.code, JSON.stringify(attachmentIds)).toBe(code);
    }
    expect(await counts()).toEqual(before);
  });

  it("signs urls that expire, and refuses tampered ones with a bare 403", async () => {
    await freshUser();
    const a = (await upload(Buffer.from("signed"), "s.txt")).attachment as Attachment;
    const urls = server.runtime.attachmentUrls;
    const id = new URL(a.url).pathname.split("/").pop() as string;
    expect((await fetch(a.url)).status).toBe(200);
    const expired = urls.sign(id, Date.now() - 2 * TTL * 1000);
    const other = new URL(a.url);
    other.pathname = `/attachments/${randomUUID()}`;
    const tampered = new URL(a.url);
    tampered.searchParams.set("expires", String(Number(tampered.searchParams.get("expires")) + 3600));
    const badSig = new URL(a.url);
    badSig.searchParams.set("sig", `${badSig.searchParams.get("sig")?.slice(0, -2)}AA`);
    const unsigned = new URL(a.url);
    unsigned.search = "";
    for (const url of [
      expired,
      other.toString(),
      tampered.toString(),
      badSig.toString(),
      unsigned.toString(),
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(403);
      expect(await response.text()).toBe("");
    }
    expect((await fetch(a.url, { method: "POST" })).status).toBe(405);
  });

  it("gives the model the exact content parts: the image downscaled, text inline, PDF text extracted", async () => {
    await freshUser();
    const image = (await upload(await noisePng(400, 200), "wide.png", "image/png")).attachment as Attachment;
    // 3000 x 1500 fits 2048 x 1024, then the short side 768: 1536 x 768.
    const large = await sharp({ create: { width: 3000, height: 1500, channels: 3, background: "#0a0" } })
      .jpeg()
      .toBuffer();
    const big = (await upload(large, "big.jpg")).attachment as Attachment;
    const text = (await upload(Buffer.from("line one\nline two"), "notes.txt")).attachment as Attachment;
    const pdf = (await upload(pdfWithText("Quarterly figures"), "report.pdf")).attachment as Attachment;
    const before = fake.requests.length;
    fake.script(FakeOpenAI.text(["seen"]));
    const sent = await stream(SendMessage, {
      input: { content: "What is in these?", attachmentIds: [big.id, text.id, pdf.id] },
    });
    expect(sent.code).toBeUndefined();
    const request = fake.requests[before];
    const user = request?.body.messages.at(-1) as unknown as { role: string; content: unknown[] };
    expect(user.role).toBe("user");
    const [first, imagePart, ...rest] = user.content as [
      unknown,
      { type: string; image_url: { url: string } },
      ...unknown[],
    ];
    expect(first).toEqual({ type: "text", text: "What is in these?" });
    expect(imagePart.type).toBe("image_url");
    expect(imagePart.image_url.url).toMatch(/^data:image\/jpeg;base64,/);
    const jpeg = Buffer.from(imagePart.image_url.url.split(",")[1] as string, "base64");
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: "jpeg", width: 1536, height: 768 });
    expect(rest).toEqual([
      { type: "text", text: 'Attached file "notes.txt":\nline one\nline two' },
      { type: "text", text: 'Attached file "report.pdf":\nQuarterly figures' },
    ]);
    // Derived once: kept on the blob for the next turns.
    const blob = await server.db.prisma.blob.findUniqueOrThrow({ where: { sha256: big.sha256 } });
    expect(blob.modelImageWidth).toBe(1536);
    const pdfBlob = await server.db.prisma.blob.findUniqueOrThrow({ where: { sha256: pdf.sha256 } });
    expect(pdfBlob.modelText).toBe("Quarterly figures");

    // The message lists them in order; an edit without attachmentIds keeps them, with [] drops them.
    const [userMessage] = sent.created;
    const listed = await message(userMessage?.id as string);
    expect(listed.attachments.map((a) => a.filename)).toEqual(["big.jpg", "notes.txt", "report.pdf"]);
    fake.script(FakeOpenAI.text(["again"]));
    const edited = await stream(EditMessage, {
      input: { messageId: userMessage?.id as string, content: "And now?" },
    });
    const editedUser = edited.created[0]?.id as string;
    expect((await message(editedUser)).attachments.map((a) => a.id)).toEqual([big.id, text.id, pdf.id]);
    // Earlier turns keep their attachments while the budget allows: the next turn sees them again.
    const conversationId = edited.created[0]?.conversation.id as string;
    fake.script(FakeOpenAI.text(["ok"]));
    const other = (await upload(Buffer.from([0, 159, 146, 150, 0]), "blob.dat")).attachment as Attachment;
    const next = await stream(SendMessage, {
      input: { conversationId, content: "", attachmentIds: [image.id, other.id] },
    });
    expect(next.code).toBeUndefined();
    const messages = fake.requests.at(-1)?.body.messages ?? [];
    const parts = messages.flatMap((m) =>
      Array.isArray(m.content) ? (m.content as { type: string }[]).map((p) => p.type) : [],
    );
    expect(parts).toEqual(["text", "image_url", "text", "text", "text", "image_url", "text"]);
    // A file the model cannot read is named in a note.
    expect((messages.at(-1)?.content as unknown as unknown[] | undefined)?.at(-1)).toEqual({
      type: "text",
      text: "[attachment: blob.dat (application/octet-stream) is not readable here]",
    });
  });

  it("keeps a fork's attachments when the original conversation goes", async () => {
    await freshUser();
    const kept = (await upload(Buffer.from("forked"), "fork.txt")).attachment as Attachment;
    fake.script(FakeOpenAI.text(["ok"]));
    const sent = await stream(SendMessage, { input: { content: "fork me", attachmentIds: [kept.id] } });
    const [userMessage] = sent.created;
    const fork = await server.request(ForkConversation, { messageId: userMessage?.id as string }, token);
    expect(fork.errors).toBeUndefined();
    const forkedMessage = fork.data?.forkConversation.conversation.activeLeaf?.id as string;
    await server.request(DeleteConversation, { id: userMessage?.conversation.id as string }, token);
    const listed = await message(forkedMessage);
    expect(listed.attachments.map((a) => a.id)).toEqual([kept.id]);
  });

  it("deletes an attachment from the messages that sent it, and a conversation's attachments used only by it", async () => {
    await freshUser();
    const onlyHere = (await upload(randomBytes(1000), "only.bin")).attachment as Attachment;
    const shared = (await upload(randomBytes(1000), "shared.bin")).attachment as Attachment;
    const dropped = (await upload(Buffer.from("bye"), "bye.txt")).attachment as Attachment;
    fake.script(FakeOpenAI.text(["one"]), FakeOpenAI.text(["two"]));
    const one = await stream(SendMessage, {
      input: { content: "first", attachmentIds: [onlyHere.id, shared.id, dropped.id] },
    });
    const two = await stream(SendMessage, { input: { content: "second", attachmentIds: [shared.id] } });
    const firstMessage = one.created[0]?.id as string;

    await server.request(DeleteAttachment, { id: dropped.id }, token);
    const kept = await message(firstMessage);
    expect(kept.content).toBe("first");
    expect(kept.attachments.map((a) => a.filename)).toEqual(["only.bin", "shared.bin"]);

    const p = server.db.prisma;
    const onlyBlob = await p.blob.findUniqueOrThrow({ where: { sha256: onlyHere.sha256 } });
    const conversationId = one.created[0]?.conversation.id as string;
    const deleted = await server.request(DeleteConversation, { id: conversationId }, token);
    expect(deleted.errors).toBeUndefined();
    expect(await p.attachment.findUnique({ where: { id: idOf(onlyHere) } })).toBeNull();
    expect(await p.blob.findUnique({ where: { id: onlyBlob.id } })).toBeNull();
    expect(await p.blobChunk.count({ where: { blobId: onlyBlob.id } })).toBe(0);
    // Still sent by the other conversation's message.
    expect(await p.attachment.findUnique({ where: { id: idOf(shared) } })).not.toBeNull();
    expect((await message(two.created[0]?.id as string)).attachments.map((a) => a.filename)).toEqual([
      "shared.bin",
    ]);
  });
});

function idOf(attachment: Attachment): string {
  return new URL(attachment.url).pathname.split("/").pop() as string;
}

describe("attachments in a local folder", () => {
  let server: TestServer;
  let directory: string;
  let token: string;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "attachments-"));
    server = await startTestServer("pglite", { ATTACHMENT_STORE: "folder", ATTACHMENT_DIR: directory });
    token = await tokenFor(`user-${randomUUID()}`);
  });
  afterAll(async () => {
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("keeps the bytes in files named by their hash, once, and removes them with the last attachment", async () => {
    const bytes = randomBytes(700_000);
    const form = () => {
      const f = new FormData();
      f.set("operations", JSON.stringify({ query: UPLOAD, variables: { file: null } }));
      f.set("map", JSON.stringify({ 0: ["variables.file"] }));
      f.set("0", new File([bytes], "blob.bin"));
      return f;
    };
    const headers = { authorization: `Bearer ${token}`, "x-graphql-yoga-csrf": "1" };
    const uploaded: Attachment[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${server.url}/graphql`, { method: "POST", body: form(), headers });
      const body = (await response.json()) as { data: { uploadAttachment: { attachment: Attachment } } };
      uploaded.push(body.data.uploadAttachment.attachment);
    }
    const hash = sha256(bytes);
    const file = path.join(directory, hash.slice(0, 2), hash);
    expect(existsSync(file)).toBe(true);
    expect(await server.db.prisma.blobChunk.count()).toBe(0);
    expect(await readdir(path.join(directory, "partial"))).toEqual([]);
    const download = await fetch((uploaded[0] as Attachment).url);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    for (const a of uploaded) await server.request(DeleteAttachment, { id: a.id }, token);
    expect(existsSync(file)).toBe(false);
  });
});
