import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ApolloClient } from "@apollo/client";
import { decodeGlobalID, encodeGlobalID } from "@pothos/plugin-relay";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { print } from "graphql";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApolloCache } from "../../sdk/apollo.js";
import { ImportConversationsDocument } from "../../sdk/index.js";
import { linkAttachments } from "../../src/db/attachments.js";
import { ExportLinks } from "../../src/resolvers/exchange/export.js";
import { UploadAttachment } from "../utils/attachment-operations.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { seedTree, uploadAt } from "../utils/exchange.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { ActivePath, ExportConversations, ImportConversations } from "../utils/sharing-operations.js";

const gid = (typename: string, id: string) => encodeGlobalID(typename, id);
const codes = (r: { errors?: readonly { extensions?: { code?: unknown } }[] }) =>
  (r.errors ?? []).map((e) => e.extensions?.code);
const CHATGPT_FIXTURE = readFileSync(
  new URL("../fixtures/chatgpt-export/conversations.json", import.meta.url),
  "utf8",
);
const IMPORT_MAX_BYTES = 1_000_000;
const ATTACHMENT_QUOTA_BYTES = 1_000_000;
const sha = (bytes: string | Uint8Array) => createHash("sha256").update(bytes).digest("hex");

type ExportFile = {
  format: string;
  version: number;
  exportedAt: string;
  conversations: {
    id: string;
    activeLeafId: string | null;
    messages: {
      id: string;
      parentId: string | null;
      attachments: { id: string; [k: string]: unknown }[];
      [k: string]: unknown;
    }[];
    [k: string]: unknown;
  }[];
  blobs?: Record<string, { size: number; data: string }>;
};

/**
 * An export with every id replaced by its place ("c0", "c0.m3", attachments "a0" in order of first use),
 * and the export's own time left out.
 */
function withoutIds(file: ExportFile) {
  const attachments = new Map<string, string>();
  const attachmentLabel = (id: string) => {
    if (!attachments.has(id)) attachments.set(id, `a${attachments.size}`);
    return attachments.get(id);
  };
  return file.conversations.map((c, ci) => {
    const label = new Map(c.messages.map((m, mi) => [m.id, `c${ci}.m${mi}`]));
    return {
      ...c,
      id: `c${ci}`,
      activeLeafId: c.activeLeafId && label.get(c.activeLeafId),
      messages: c.messages.map((m) => ({
        ...m,
        id: label.get(m.id),
        parentId: m.parentId && label.get(m.parentId),
        attachments: m.attachments.map((a) => ({ ...a, id: attachmentLabel(a.id) })),
      })),
    };
  });
}

describe.each(testDatabaseKinds())("export and import on %s", (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind, {
      IMPORT_MAX_BYTES: String(IMPORT_MAX_BYTES),
      ATTACHMENT_QUOTA_BYTES: String(ATTACHMENT_QUOTA_BYTES),
    });
  });
  afterAll(() => server?.close());

  async function user() {
    const id = `user-${randomUUID()}`;
    return { id, token: await tokenFor(id) };
  }

  /** A conversation with everything an export carries: branches, tool calls, usage, feedback, tags, a pin. */
  function richTree(ownerId: string, title: string) {
    const at = new Date("2026-02-03T04:05:06.789Z");
    return seedTree(server.db.prisma, ownerId, {
      title,
      leaf: "a2",
      tags: ["travel", "work"],
      pinnedAt: at,
      messages: [
        { key: "u1", parentKey: null, content: "First question" },
        {
          key: "a1",
          parentKey: "u1",
          content: "First answer",
          role: "ASSISTANT",
          reasoning: "thinking it over",
          model: "gpt-test",
          usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
          feedback: { rating: "UP", comment: "helpful", createdAt: at, updatedAt: at },
        },
        {
          key: "a1b",
          parentKey: "u1",
          content: "Regenerated answer",
          role: "ASSISTANT",
          status: "FAILED",
          error: "boom",
        },
        { key: "u2", parentKey: "a1", content: "Second question", role: "USER" },
        {
          key: "a2",
          parentKey: "u2",
          content: "Second answer with a tool",
          role: "ASSISTANT",
          model: "gpt-test",
          usage: { promptTokens: 20, completionTokens: null, totalTokens: null },
          toolCalls: [
            {
              round: 0,
              textOffset: 3,
              callId: "call_a",
              server: "srv",
              name: "lookup",
              arguments: { q: "x", n: [1, 2] },
              result: "found",
              isError: false,
              status: "COMPLETED",
              startedAt: at,
              decidedAt: at,
              decision: "approved",
              completedAt: at,
            },
            {
              round: 1,
              textOffset: 9,
              callId: "call_b",
              server: "srv",
              name: "fail",
              arguments: {},
              result: "bad",
              isError: true,
              status: "FAILED",
              startedAt: at,
              decidedAt: null,
              decision: null,
              completedAt: at,
            },
          ],
        },
      ],
    });
  }

  /** Uploads a file as the user's attachment; its database id. */
  async function upload(token: string, name: string, bytes: string | Uint8Array<ArrayBuffer>) {
    const r = await uploadAt(server.url, UploadAttachment, {}, bytes, token, name);
    expect(r.errors).toBeUndefined();
    return decodeGlobalID(r.data?.uploadAttachment.attachment.id as string).id;
  }

  const PNG = sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 0, b: 0 } } })
    .png()
    .toBuffer();
  const NOTES = "# Notes\n\n- one\n- two\n";
  // Random (incompressible) and over one 256 KB chunk, a length that is no multiple of 3: the base64 of
  // the export is written in pieces across chunk boundaries.
  const DATA = randomBytes(300_001);

  /**
   * A conversation whose messages sent attachments: the first question an image and a text file, the
   * second the same image again and 300 KB of binary.
   */
  async function treeWithFiles(owner: { id: string; token: string }, title: string) {
    const id = await richTree(owner.id, title);
    const png = new Uint8Array(await PNG);
    const image = await upload(owner.token, "red.png", png);
    const notes = await upload(owner.token, "notes.md", NOTES);
    const data = await upload(owner.token, "data.bin", new Uint8Array(DATA));
    const messages = await server.db.prisma.message.findMany({
      where: { conversationId: id },
      orderBy: { position: "asc" },
    });
    await linkAttachments(server.db.prisma, owner.id, messages[0]?.id as string, [image, notes]);
    await linkAttachments(server.db.prisma, owner.id, messages[3]?.id as string, [image, data]);
    return id;
  }

  /** Rows of every table an import writes, all users' (the suite runs its tests one at a time). */
  const totals = () =>
    Promise.all([
      server.db.prisma.attachment.count(),
      server.db.prisma.blob.count(),
      server.db.prisma.blobChunk.count(),
      server.db.prisma.message.count(),
      server.db.prisma.conversation.count(),
    ]);

  async function exportFile(token: string, ids?: string[], includeFiles?: boolean) {
    const r = await server.request(ExportConversations, { ids, includeFiles }, token);
    expect(r.errors).toBeUndefined();
    const url = r.data?.exportConversations.url as string;
    // A plain download: no Authorization header, the signed link is enough.
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="conversations-.*\.json"$/,
    );
    return { text: await response.text(), url };
  }

  it("export then import gives the same conversations (round trip, ids aside)", async () => {
    const a = await user();
    await treeWithFiles(a, "Rich one");
    const plain = await seedConversation(server.db.prisma, a.id, {
      title: "Plain chain",
      messages: 3,
      toolCalls: true,
    });
    // Settled, as in any conversation at rest: an import stops what was still running when exported.
    await server.db.prisma.toolCall.updateMany({
      where: { message: { conversationId: plain.id } },
      data: { status: "COMPLETED", result: "done", completedAt: new Date() },
    });
    await seedConversation(server.db.prisma, a.id, { title: "Empty" });
    const first = await exportFile(a.token);
    const parsed = JSON.parse(first.text) as ExportFile;
    expect(parsed).toMatchObject({ format: "chat-graphql-export", version: 2 });
    expect(parsed.conversations.map((c) => c.title).sort()).toEqual(["Empty", "Plain chain", "Rich one"]);
    const rich = parsed.conversations.find((c) => c.title === "Rich one");
    expect(rich?.messages).toHaveLength(5);
    const png = await PNG;
    expect(rich?.messages[0]?.attachments).toMatchObject([
      { filename: "red.png", kind: "IMAGE", contentType: "image/png", size: png.length, sha256: sha(png) },
      {
        filename: "notes.md",
        kind: "TEXT",
        contentType: "text/markdown; charset=utf-8",
        size: NOTES.length,
        sha256: sha(NOTES),
      },
    ]);
    expect(rich?.messages[3]?.attachments.map((x) => x.filename)).toEqual(["red.png", "data.bin"]);
    expect(rich?.messages[3]?.attachments[0]?.id).toBe(rich?.messages[0]?.attachments[0]?.id);
    // Each distinct file's bytes once, under its sha256.
    expect(Object.keys(parsed.blobs ?? {})).toEqual([sha(png), sha(NOTES), sha(DATA)]);
    expect(Buffer.from(parsed.blobs?.[sha(DATA)]?.data as string, "base64").equals(DATA)).toBe(true);
    expect(parsed.blobs?.[sha(NOTES)]).toEqual({
      size: NOTES.length,
      data: Buffer.from(NOTES).toString("base64"),
    });
    const before = await totals();

    const b = await user();
    const imported = await uploadAt(
      server.url,
      ImportConversations,
      { format: "NATIVE" },
      first.text,
      b.token,
    );
    expect(imported.errors).toBeUndefined();
    expect(imported.data?.importConversations.skippedMessages).toBe(0);
    expect(imported.data?.importConversations.skippedAttachments).toBe(0);
    expect(imported.data?.importConversations.conversations.map((c) => c.title)).toEqual(
      parsed.conversations.map((c) => c.title),
    );
    const again = JSON.parse((await exportFile(b.token)).text) as ExportFile;
    expect(withoutIds(again)).toEqual(withoutIds(parsed));
    expect(again.blobs).toEqual(parsed.blobs);
    // B's own attachments (new ids), the bytes shared with A's: identical bytes are stored once.
    const [attachments, blobs, chunks] = await totals();
    expect([attachments, blobs, chunks]).toEqual([(before[0] as number) + 3, before[1], before[2]]);
    const theirs = await server.db.prisma.attachment.findMany({ where: { ownerId: b.id } });
    expect(theirs.map((x) => x.id).some((id) => rich?.messages[0]?.attachments[0]?.id === id)).toBe(false);

    // The tree pages work on the copy: versions and the active path as in the original.
    const copy = imported.data?.importConversations.conversations.find((c) => c.title === "Rich one");
    const path = await server.request(ActivePath, { id: copy?.id as string }, b.token);
    expect(
      path.data?.conversation?.messages.edges.map((e) => [
        e.node.content,
        e.node.siblingIndex,
        e.node.siblingCount,
      ]),
    ).toEqual([
      ["First question", 0, 1],
      ["First answer", 0, 2],
      ["Second question", 0, 1],
      ["Second answer with a tool", 0, 1],
    ]);
  });

  it("imports a file of many conversations (several write batches) whole and in order", async () => {
    const at = "2026-03-04T05:06:07.000Z";
    const conversations = Array.from({ length: 130 }, (_, c) => ({
      id: `c${c}`,
      title: `Conversation ${c}`,
      createdAt: at,
      updatedAt: at,
      pinnedAt: null,
      tags: [],
      activeLeafId: `c${c}m8`,
      messages: Array.from({ length: 10 }, (_, m) => ({
        id: `c${c}m${m}`,
        // The last message is a second version of the one before it: off the active path.
        parentId: m === 0 ? null : m === 9 ? `c${c}m7` : `c${c}m${m - 1}`,
        role: m % 2 === 0 ? "USER" : "ASSISTANT",
        content: `conversation ${c} message ${m}`,
        status: "COMPLETE",
        createdAt: at,
        model: null,
        usage: null,
        feedback: null,
        toolCalls: [],
      })),
    }));
    const b = await user();
    const file = JSON.stringify({ format: "chat-graphql-export", version: 1, conversations });
    const r = await uploadAt(server.url, ImportConversations, { format: "NATIVE" }, file, b.token);
    expect(r.errors).toBeUndefined();
    const imported = r.data?.importConversations.conversations ?? [];
    expect(imported.map((c) => c.title)).toEqual(conversations.map((c) => c.title));
    expect(
      imported.every(
        (c, i) => c.messageCount === 10 && c.activeLeaf?.content === `conversation ${i} message 8`,
      ),
    ).toBe(true);
    const again = JSON.parse((await exportFile(b.token)).text) as ExportFile;
    expect(again.conversations.map((c) => c.title)).toEqual(conversations.map((c) => c.title));
    expect(await server.db.prisma.message.count({ where: { ownerId: b.id, onActivePath: true } })).toBe(
      130 * 9,
    );
  });

  it("exports only the chosen conversations of the caller's, through a signed link only", async () => {
    const a = await user();
    const one = await richTree(a.id, "One");
    await richTree(a.id, "Two");
    const stranger = await user();
    const theirs = await seedConversation(server.db.prisma, stranger.id, { title: "Theirs", messages: 2 });
    const chosen = await exportFile(a.token, [gid("Conversation", one), gid("Conversation", theirs.id)]);
    expect((JSON.parse(chosen.text) as ExportFile).conversations.map((c) => c.title)).toEqual(["One"]);

    const tampered = new URL(chosen.url);
    const token = tampered.searchParams.get("token") as string;
    tampered.searchParams.set("token", `${token.slice(0, -2)}xx`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(`${server.url}/export`)).status).toBe(403);
    expect(codes(await server.request(ExportConversations, {}, null))).toEqual(["UNAUTHENTICATED"]);
  });

  it("export links expire", () => {
    const links = new ExportLinks(undefined, 60, () => "http://example.test");
    const { url } = links.sign("u", null, true, Date.parse("2026-01-01T00:00:00Z"));
    const token = new URL(url).searchParams.get("token") as string;
    expect(links.verify(token, Date.parse("2026-01-01T00:00:59Z"))).toMatchObject({ u: "u", ids: null });
    expect(links.verify(token, Date.parse("2026-01-01T00:01:00Z"))).toBeNull();
    expect(new ExportLinks(undefined, 60, () => "http://x").verify(token, 0)).toBeNull();
  });

  it("imports a ChatGPT export: the branch, the active path, skipped tool nodes", async () => {
    const b = await user();
    const r = await uploadAt(
      server.url,
      ImportConversations,
      { format: "CHATGPT" },
      CHATGPT_FIXTURE,
      b.token,
    );
    expect(r.errors).toBeUndefined();
    const result = r.data?.importConversations;
    // The python call and its output (Lisbon) and an image-only message (the picture) have no text here.
    expect(result?.skippedMessages).toBe(3);
    expect(result?.conversations.map((c) => [c.title, c.messageCount, c.activeLeaf?.content])).toEqual([
      ["Lisbon trip", 6, "Yes: June averages 27.5°C."],
      ["A picture", 3, "A cat."],
    ]);
    const lisbon = await server.request(ActivePath, { id: result?.conversations[0]?.id as string }, b.token);
    expect(
      lisbon.data?.conversation?.messages.edges.map((e) => [
        e.node.role,
        e.node.content,
        e.node.siblingIndex,
        e.node.siblingCount,
      ]),
    ).toEqual([
      ["USER", "What should I see in Lisbon?", 0, 1],
      ["ASSISTANT", "Belém, Alfama and the tram 28.", 0, 1],
      // The edited question: the second of two versions, the one the user last saw.
      ["USER", "Is June warm there?", 1, 2],
      ["ASSISTANT", "Yes: June averages 27.5°C.", 0, 1],
    ]);
    const picture = await server.request(ActivePath, { id: result?.conversations[1]?.id as string }, b.token);
    expect(
      picture.data?.conversation?.messages.edges.map((e) => [
        e.node.content,
        e.node.siblingIndex,
        e.node.siblingCount,
      ]),
    ).toEqual([
      ["What is in this picture?", 0, 1],
      // current_node is the older of two replies: the active path follows it, not the newest.
      ["A cat.", 0, 2],
    ]);
    const rows = await server.db.prisma.conversation.findMany({
      where: { ownerId: b.id },
      orderBy: { createdAt: "asc" },
      include: { messages: { orderBy: { position: "asc" } } },
    });
    expect(rows[0]?.createdAt.toISOString()).toBe("2024-06-01T00:00:00.123Z");
    expect(rows[0]?.messages.map((m) => m.model)).toEqual([null, "gpt-4o", null, "gpt-4o", null, "gpt-4o"]);
    expect(rows[0]?.messages[5]?.createdAt.toISOString()).toBe("2024-06-01T00:03:26.000Z");
  });

  it("imports through Apollo Client's upload link (apollo-upload-client), with the SDK's document", async () => {
    const b = await user();
    const client = new ApolloClient({
      link: new UploadHttpLink({
        uri: `${server.url}/graphql`,
        headers: { authorization: `Bearer ${b.token}` },
      }),
      cache: createApolloCache(),
    });
    const file = new File([CHATGPT_FIXTURE], "conversations.json", { type: "application/json" });
    const { data } = await client.mutate({
      mutation: ImportConversationsDocument,
      variables: { file, format: "CHATGPT" },
    });
    expect(data?.importConversations.conversations.map((c) => c.title)).toEqual(["Lisbon trip", "A picture"]);
    expect(data?.importConversations.skippedMessages).toBe(3);
    client.stop();
  });

  describe("attachments in imports", () => {
    let withFiles = "";
    beforeAll(async () => {
      const a = await user();
      await treeWithFiles(a, "With files");
      withFiles = (await exportFile(a.token)).text;
    });

    async function refusedWithFiles(content: string, message: RegExp, uploadFirst?: Uint8Array<ArrayBuffer>) {
      const b = await user();
      if (uploadFirst) await upload(b.token, "big.bin", uploadFirst);
      const before = await totals();
      const r = await uploadAt(server.url, ImportConversations, { format: "NATIVE" }, content, b.token);
      expect(codes(r)).toEqual(["BAD_USER_INPUT"]);
      expect(r.errors?.[0]?.message).toMatch(message);
      expect(r.errors?.[0]?.extensions?.field).toBe("file");
      expect(await totals()).toEqual(before);
    }

    it("exported without files: the attachments are listed, left out of the import and counted", async () => {
      const a = await user();
      await treeWithFiles(a, "Files left out");
      const text = (await exportFile(a.token, undefined, false)).text;
      const parsed = JSON.parse(text) as ExportFile;
      expect(parsed.blobs).toBeUndefined();
      expect(parsed.conversations[0]?.messages[0]?.attachments).toHaveLength(2);
      const b = await user();
      const r = await uploadAt(server.url, ImportConversations, { format: "NATIVE" }, text, b.token);
      expect(r.errors).toBeUndefined();
      expect(r.data?.importConversations.skippedAttachments).toBe(3);
      expect(r.data?.importConversations.conversations[0]?.messageCount).toBe(5);
      expect(await server.db.prisma.attachment.count({ where: { ownerId: b.id } })).toBe(0);
      const again = JSON.parse((await exportFile(b.token)).text) as ExportFile;
      expect(again.conversations[0]?.messages.every((m) => m.attachments.length === 0)).toBe(true);
    });

    it("refuses bytes that do not match their sha256", () => {
      const file = JSON.parse(withFiles) as ExportFile;
      const entry = file.blobs?.[sha(NOTES)];
      if (entry) entry.data = Buffer.from(NOTES.toUpperCase()).toString("base64");
      return refusedWithFiles(JSON.stringify(file), /blobs\.[0-9a-f]{64}: the bytes hash to/);
    });

    it("refuses a declared attachment whose bytes are missing from blobs", () => {
      const file = JSON.parse(withFiles) as ExportFile;
      delete file.blobs?.[sha(NOTES)];
      return refusedWithFiles(JSON.stringify(file), /"notes\.md"|notes\.md.* has no bytes/);
    });

    it("refuses a blob whose data is not its size", () => {
      const file = JSON.parse(withFiles) as ExportFile;
      const entry = file.blobs?.[sha(NOTES)];
      if (entry) entry.size += 1;
      return refusedWithFiles(JSON.stringify(file), /holds \d+ bytes, not its "size"/);
    });

    it("refuses one attachment listed with two different files", () => {
      const file = JSON.parse(withFiles) as ExportFile;
      const again = file.conversations[0]?.messages[3]?.attachments[0];
      if (again) again.sha256 = sha(NOTES);
      return refusedWithFiles(JSON.stringify(file), /is listed with two different sha256/);
    });

    it("refuses data that is not base64", () => {
      const file = JSON.parse(withFiles) as ExportFile;
      const entry = file.blobs?.[sha(NOTES)];
      if (entry) entry.data = `${entry.data.slice(0, 8)}!${entry.data.slice(9)}`;
      return refusedWithFiles(JSON.stringify(file), /blobs\.[0-9a-f]{64}\.data: not base64/);
    });

    it("refuses attachments over the importer's quota", () =>
      refusedWithFiles(
        withFiles,
        /storage quota of 1000000 bytes/,
        new Uint8Array(randomBytes(ATTACHMENT_QUOTA_BYTES - 300_000)),
      ));
  });

  describe("refuses bad files with a clear error and writes nothing", () => {
    async function refused(format: "NATIVE" | "CHATGPT", content: string, message: RegExp) {
      const b = await user();
      const r = await uploadAt(server.url, ImportConversations, { format }, content, b.token);
      expect(codes(r)).toEqual(["BAD_USER_INPUT"]);
      expect(r.errors?.[0]?.message).toMatch(message);
      expect(r.errors?.[0]?.extensions?.field).toBe("file");
      expect(await server.db.prisma.conversation.count({ where: { ownerId: b.id } })).toBe(0);
      expect(await server.db.prisma.message.count({ where: { ownerId: b.id } })).toBe(0);
    }

    let valid = "";
    beforeAll(async () => {
      const a = await user();
      await richTree(a.id, "First");
      await richTree(a.id, "Second");
      await richTree(a.id, "Third");
      valid = (await exportFile(a.token)).text;
    });

    it("not JSON", () => refused("NATIVE", "this is not json", /not valid JSON/));
    it("empty", () => refused("NATIVE", "", /empty/));
    it("the wrong format marker", () =>
      refused(
        "NATIVE",
        valid.replace('"chat-graphql-export"', '"something-else"'),
        /"format" is "something-else"/,
      ));
    it("an unknown version", () =>
      refused("NATIVE", valid.replace('"version":2', '"version":7'), /"version" 7/));
    it("a ChatGPT file sent as NATIVE", () => refused("NATIVE", CHATGPT_FIXTURE, /expected a JSON object/));
    it("an export sent as CHATGPT", () => refused("CHATGPT", valid, /expected a JSON array/));
    it("truncated after whole conversations (the earlier ones are not kept either)", () =>
      // Three conversations of the same size: 80% of the file ends inside the third.
      refused("NATIVE", valid.slice(0, Math.floor(valid.length * 0.8)), /not valid JSON|ends/));
    it("a conversation missing a field, named with its place", () => {
      const file = JSON.parse(valid) as ExportFile;
      delete file.conversations[2]?.messages[1]?.role;
      return refused("NATIVE", JSON.stringify(file), /conversation 2\.messages\.1\.role/);
    });
    it("a parent that is not an earlier message", () => {
      const file = JSON.parse(valid) as ExportFile;
      const messages = file.conversations[1]?.messages ?? [];
      if (messages[1]) messages[1].parentId = messages[4]?.id ?? null;
      return refused(
        "NATIVE",
        JSON.stringify(file),
        /conversation 1\.messages\.1: parentId .* is not an earlier message/,
      );
    });
    it("text holding U+0000", () =>
      refused("NATIVE", valid.replace("First question", "First\\u0000question"), /NUL/));
    it("a ChatGPT conversation without its mapping", () => {
      const file = JSON.parse(CHATGPT_FIXTURE) as { mapping?: unknown }[];
      delete file[1]?.mapping;
      return refused("CHATGPT", JSON.stringify(file), /conversation 1\.mapping/);
    });
    it("a ChatGPT current_node outside the mapping", () => {
      const file = JSON.parse(CHATGPT_FIXTURE) as { current_node?: string }[];
      if (file[0]) file[0].current_node = "nowhere";
      return refused("CHATGPT", JSON.stringify(file), /conversation 0\.current_node/);
    });

    it("a file over IMPORT_MAX_BYTES (413)", async () => {
      const b = await user();
      const big = JSON.stringify([{ title: "x".repeat(IMPORT_MAX_BYTES) }]);
      const r = await uploadAt(server.url, ImportConversations, { format: "CHATGPT" }, big, b.token);
      expect(r.status).toBe(413);
      expect(codes(r)).toEqual(["BAD_USER_INPUT"]);
    });

    it("a cross-site form post (CSRF prevention: a multipart upload needs a preflighted header)", async () => {
      const form = new FormData();
      form.set(
        "operations",
        JSON.stringify({ query: print(ImportConversations), variables: { file: null, format: "NATIVE" } }),
      );
      form.set("map", JSON.stringify({ 0: ["variables.file"] }));
      form.set("0", new Blob([valid]), "conversations.json");
      const response = await fetch(`${server.url}/graphql`, { method: "POST", body: form });
      expect(response.status).toBe(403);
    });

    it("anonymous callers", async () => {
      const r = await uploadAt(server.url, ImportConversations, { format: "NATIVE" }, valid, null);
      expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    });
  });
});

describe("imported attachments in a local folder (ATTACHMENT_STORE=folder)", () => {
  let server: TestServer;
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "import-attachments-"));
    server = await startTestServer("pglite", { ATTACHMENT_STORE: "folder", ATTACHMENT_DIR: directory });
  });
  afterAll(async () => {
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** A one-message export whose message sent `attachments`, with the `blobs` given. */
  function fileOf(
    attachments: { id: string; sha256: string; filename?: string }[],
    blobs: Record<string, Buffer>,
  ) {
    const at = "2026-03-04T05:06:07.000Z";
    return JSON.stringify({
      format: "chat-graphql-export",
      version: 2,
      conversations: [
        {
          id: "c",
          title: "Files",
          createdAt: at,
          updatedAt: at,
          pinnedAt: null,
          tags: [],
          activeLeafId: "m",
          messages: [
            {
              id: "m",
              parentId: null,
              role: "USER",
              content: "see the files",
              status: "COMPLETE",
              createdAt: at,
              model: null,
              usage: null,
              feedback: null,
              toolCalls: [],
              attachments: attachments.map((a) => ({
                filename: `${a.id}.bin`,
                ...a,
                size: 1,
                createdAt: at,
              })),
            },
          ],
        },
      ],
      blobs: Object.fromEntries(
        Object.entries(blobs).map(([hash, bytes]) => [
          hash,
          { size: bytes.length, data: bytes.toString("base64") },
        ]),
      ),
    });
  }
  const fileFor = (hash: string) => path.join(directory, hash.slice(0, 2), hash);

  it("a refused import leaves no file behind; an accepted one keeps its bytes in the folder", async () => {
    const owner = await tokenFor(`user-${randomUUID()}`);
    const bytes = randomBytes(1000);
    const hash = sha(bytes);
    const missing = sha("never sent");
    const refused = await uploadAt(
      server.url,
      ImportConversations,
      { format: "NATIVE" },
      fileOf(
        [
          { id: "x", sha256: hash },
          { id: "y", sha256: missing },
        ],
        { [hash]: bytes },
      ),
      owner,
    );
    expect(codes(refused)).toEqual(["BAD_USER_INPUT"]);
    expect(refused.errors?.[0]?.message).toMatch(/"y" \(y\.bin\) has no bytes/);
    expect(existsSync(fileFor(hash))).toBe(false);
    expect(await readdir(path.join(directory, "partial"))).toEqual([]);
    expect(await server.db.prisma.blob.count()).toBe(0);

    const accepted = await uploadAt(
      server.url,
      ImportConversations,
      { format: "NATIVE" },
      fileOf([{ id: "x", sha256: hash }], { [hash]: bytes, [sha("unused")]: Buffer.from("unused") }),
      owner,
    );
    expect(accepted.errors).toBeUndefined();
    expect(readFileSync(fileFor(hash)).equals(bytes)).toBe(true);
    // Bytes no attachment of the file names are not kept.
    expect(existsSync(fileFor(sha("unused")))).toBe(false);
    expect(await server.db.prisma.blob.count()).toBe(1);
    expect(await server.db.prisma.attachment.findMany({ select: { kind: true, size: true } })).toEqual([
      { kind: "OTHER", size: 1000 },
    ]);
  });

  it("cleans file names as uploads do and holds a message to ATTACHMENTS_PER_MESSAGE", async () => {
    const owner = `user-${randomUUID()}`;
    const token = await tokenFor(owner);
    const text = Buffer.from("plain words");
    const hash = sha(text);
    const r = await uploadAt(
      server.url,
      ImportConversations,
      { format: "NATIVE" },
      fileOf([{ id: "x", sha256: hash, filename: "../secret/no\u0001tes.md" }], { [hash]: text }),
      token,
    );
    expect(r.errors).toBeUndefined();
    expect(
      await server.db.prisma.attachment.findMany({
        where: { ownerId: owner },
        select: { filename: true, kind: true, contentType: true },
      }),
    ).toEqual([{ filename: "notes.md", kind: "TEXT", contentType: "text/markdown; charset=utf-8" }]);

    const crowded = Array.from({ length: 11 }, (_, i) => ({ id: `a${i}`, sha256: hash }));
    const refused = await uploadAt(
      server.url,
      ImportConversations,
      { format: "NATIVE" },
      fileOf(crowded, { [hash]: text }),
      token,
    );
    expect(codes(refused)).toEqual(["BAD_USER_INPUT"]);
    expect(refused.errors?.[0]?.message).toMatch(/conversation 0\.messages\.0: more than 10 attachments/);
  });
});
