import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, postGraphQL, rowCounts } from "./helpers.js";

// Bob holds valid ids of Alice's objects (leaked, guessed, or read over her shoulder) and tries each in
// every argument that takes an id, on both endpoints, plus ids forged for the wrong type. The answer is
// always NOT_FOUND, exactly as for an id that does not exist, and nothing of Alice's changes.

describe.each(testDatabaseKinds())("another user's ids on %s", (kind) => {
  let server: TestServer;
  let bob: string;
  let bobConversation: string;
  let bobMessageCursor: string;
  const ids = { conversation: "", message: "", streaming: "", aliceCursor: "", attachment: "" };

  beforeAll(async () => {
    server = await startTestServer(kind);
    const alice = `alice-${randomUUID()}`;
    const bobId = `bob-${randomUUID()}`;
    bob = await tokenFor(bobId);
    const prisma = server.db.prisma;
    const c = await seedConversation(prisma, alice, { title: "alice's", messages: 2, toolCalls: true });
    const [, assistant] = await prisma.message.findMany({
      where: { conversationId: c.id },
      orderBy: { position: "asc" },
    });
    // A reply of Alice's that is being written (its run lives on another instance, as far as this one knows).
    const running = await seedConversation(prisma, alice, { title: "alice's running", messages: 2 });
    const streaming = await prisma.message.findFirstOrThrow({
      where: { conversationId: running.id, role: "ASSISTANT" },
    });
    await prisma.message.update({ where: { id: streaming.id }, data: { status: "STREAMING" } });
    ids.conversation = encodeGlobalID("Conversation", c.id);
    ids.message = encodeGlobalID("Message", assistant?.id ?? "");
    ids.streaming = encodeGlobalID("Message", streaming.id);
    const sha256 = "a".repeat(64);
    const blob = await prisma.blob.create({
      data: {
        store: "database",
        sha256,
        size: 5,
        chunks: { create: { index: 0, data: new Uint8Array(Buffer.from("alice")) } },
      },
    });
    const attachment = await prisma.attachment.create({
      data: {
        ownerId: alice,
        filename: "alice.txt",
        contentType: "text/plain; charset=utf-8",
        size: 5,
        sha256,
        kind: "TEXT",
        blobId: blob.id,
      },
    });
    ids.attachment = encodeGlobalID("Attachment", attachment.id);
    const own = await seedConversation(prisma, bobId, { title: "bob's", messages: 2 });
    bobConversation = encodeGlobalID("Conversation", own.id);
    const page = await server.request(
      // A cursor from Alice's message list, taken while it was hers to read.
      (await import("../utils/operations.js")).MessagesQuery,
      { id: ids.conversation, first: 1 },
      await tokenFor(alice),
    );
    ids.aliceCursor = page.data?.conversation?.messages.edges[0]?.cursor ?? "";
    const bobPage = await server.request(
      (await import("../utils/operations.js")).MessagesQuery,
      { id: bobConversation, first: 1 },
      bob,
    );
    bobMessageCursor = bobPage.data?.conversation?.messages.edges[0]?.cursor ?? "";
    expect(ids.aliceCursor).not.toBe("");
    expect(bobMessageCursor).not.toBe("");
  });
  afterAll(() => server?.close());

  async function aliceUnchanged() {
    const prisma = server.db.prisma;
    const rows = await prisma.conversation.findMany({
      where: { title: { startsWith: "alice's" } },
      orderBy: { title: "asc" },
    });
    expect(rows.map((r) => [r.title, r.archivedAt, r.messageCount])).toEqual([
      ["alice's", null, 2],
      ["alice's running", null, 2],
    ]);
    const streaming = await prisma.message.count({ where: { status: "STREAMING" } });
    expect(streaming).toBe(1);
    expect(await prisma.attachment.count({ where: { filename: "alice.txt" } })).toBe(1);
  }

  /** Every operation that takes an id, with Alice's id in that argument. */
  const attacks: [string, string, (i: typeof ids) => Record<string, unknown>][] = [
    [
      "conversation(id)",
      "query($id: ID!) { conversation(id: $id) { title } }",
      (i) => ({ id: i.conversation }),
    ],
    [
      "node(id) of a conversation",
      "query($id: ID!) { node(id: $id) { id } }",
      (i) => ({ id: i.conversation }),
    ],
    ["node(id) of a message", "query($id: ID!) { node(id: $id) { id } }", (i) => ({ id: i.message })],
    [
      "nodes(ids)",
      "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
      (i) => ({ ids: [i.conversation, i.message] }),
    ],
    [
      "renameConversation(input.id)",
      'mutation($id: ID!) { renameConversation(input: { id: $id, title: "pwned" }) { conversation { id } } }',
      (i) => ({ id: i.conversation }),
    ],
    [
      "updateConversationSettings(input.id)",
      'mutation($id: ID!) { updateConversationSettings(input: { id: $id, systemPrompt: "pwned" }) { conversation { id } } }',
      (i) => ({ id: i.conversation }),
    ],
    [
      "archiveConversation(input.id)",
      "mutation($id: ID!) { archiveConversation(input: { id: $id }) { conversation { id } } }",
      (i) => ({ id: i.conversation }),
    ],
    [
      "unarchiveConversation(input.id)",
      "mutation($id: ID!) { unarchiveConversation(input: { id: $id }) { conversation { id } } }",
      (i) => ({ id: i.conversation }),
    ],
    [
      "deleteConversation(input.id)",
      "mutation($id: ID!) { deleteConversation(input: { id: $id }) { deletedId } }",
      (i) => ({ id: i.conversation }),
    ],
    [
      "stopGeneration(input.messageId)",
      "mutation($id: ID!) { stopGeneration(input: { messageId: $id }) { message { id } } }",
      (i) => ({ id: i.streaming }),
    ],
    [
      "sendMessage(input.conversationId)",
      'subscription($id: ID) { sendMessage(input: { conversationId: $id, content: "hi" }) { __typename } }',
      (i) => ({ id: i.conversation }),
    ],
    [
      "messageStream(messageId) of a running reply",
      "subscription($id: ID!) { messageStream(messageId: $id) { __typename } }",
      (i) => ({ id: i.streaming }),
    ],
    ["node(id) of an attachment", "query($id: ID!) { node(id: $id) { id } }", (i) => ({ id: i.attachment })],
    [
      "deleteAttachment(input.id)",
      "mutation($id: ID!) { deleteAttachment(input: { id: $id }) { deletedId } }",
      (i) => ({ id: i.attachment }),
    ],
    [
      "sendMessage(input.attachmentIds)",
      'subscription($id: ID!) { sendMessage(input: { content: "hi", attachmentIds: [$id] }) { __typename } }',
      (i) => ({ id: i.attachment }),
    ],
    [
      "messageStream(messageId) of a finished reply",
      "subscription($id: ID!) { messageStream(messageId: $id) { __typename } }",
      (i) => ({ id: i.message }),
    ],
  ];

  describe.each(endpoints)("on %s", (path) => {
    it.each(attacks)("%s answers NOT_FOUND and changes nothing", async (_name, query, variables) => {
      const before = await rowCounts(server.db.prisma);
      const answer = await postGraphQL(server, path, bob, query, variables(ids));
      expect(new Set(codes(answer.body))).toEqual(new Set(["NOT_FOUND"]));
      expect(answer.body.errors?.every((e) => /not found/i.test(e.message))).toBe(true);
      expect(JSON.stringify(answer.body)).not.toContain("alice");
      expect(await rowCounts(server.db.prisma)).toEqual(before);
      await aliceUnchanged();
    });

    it.each([
      ["a message id as conversationId", (i: typeof ids) => i.message],
      ["a made-up type as conversationId", () => encodeGlobalID("ToolCall", randomUUID())],
      ["an id that does not exist", () => encodeGlobalID("Conversation", randomUUID())],
    ])("sendMessage with %s answers NOT_FOUND and writes nothing", async (_name, make) => {
      const before = await rowCounts(server.db.prisma);
      const answer = await postGraphQL(
        server,
        path,
        bob,
        'subscription($id: ID) { sendMessage(input: { conversationId: $id, content: "hi" }) { __typename } }',
        { id: make(ids) },
      );
      expect(codes(answer.body)).toEqual(["NOT_FOUND"]);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("forged global ids of the wrong type answer NOT_FOUND in every id argument", async () => {
      const forged = [
        ["query($id: ID!) { conversation(id: $id) { id } }", encodeGlobalID("Message", randomUUID())],
        [
          "subscription($id: ID!) { messageStream(messageId: $id) { __typename } }",
          encodeGlobalID("Conversation", randomUUID()),
        ],
        [
          "mutation($id: ID!) { stopGeneration(input: { messageId: $id }) { message { id } } }",
          ids.conversation,
        ],
        ["mutation($id: ID!) { deleteConversation(input: { id: $id }) { deletedId } }", ids.message],
      ] as const;
      for (const [query, id] of forged) {
        const answer = await postGraphQL(server, path, bob, query, { id });
        expect(codes(answer.body), query).toEqual(["NOT_FOUND"]);
      }
      await aliceUnchanged();
    });

    it("a cursor taken from Alice's list is refused in Bob's own list (BAD_USER_INPUT)", async () => {
      const query = `query($id: ID!, $after: String) { conversation(id: $id) {
        messages(first: 5, after: $after) { edges { node { content } } } } }`;
      const answer = await postGraphQL(server, path, bob, query, {
        id: bobConversation,
        after: ids.aliceCursor,
      });
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(JSON.stringify(answer.body)).not.toContain("message 2");
      const own = await postGraphQL(server, path, bob, query, {
        id: bobConversation,
        after: bobMessageCursor,
      });
      expect(own.body.errors).toBeUndefined();
    });
  });
});
