import { randomUUID } from "node:crypto";
import type { ResultOf } from "@graphql-typed-document-node/core";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { testDatabaseKinds } from "../utils/databases.js";
import {
  ArchiveConversation,
  ConversationQuery,
  ConversationsQuery,
  CreateConversation,
  DeleteConversation,
  MessagesQuery,
  RenameConversation,
  UnarchiveConversation,
  ViewerQuery,
} from "../utils/operations.js";
import { seedConversation } from "../utils/seed.js";
import { type GraphQLResponse, startTestServer, type TestServer, tokenFor } from "../utils/server.js";

type ConversationsPage = GraphQLResponse<ResultOf<typeof ConversationsQuery>>;
type MessagesPage = GraphQLResponse<ResultOf<typeof MessagesQuery>>;

describe.each(testDatabaseKinds())("conversations API on %s", (kind) => {
  let server: TestServer;
  let user: string;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(() => server?.close());

  // Each test acts as a fresh user so tests never see each other's data.
  async function freshUser() {
    user = `user-${randomUUID()}`;
    token = await tokenFor(user);
    return { user, token };
  }

  function codes(response: { errors?: { extensions?: { code?: string } }[] }) {
    return (response.errors ?? []).map((e) => e.extensions?.code);
  }

  describe("createConversation", () => {
    it("creates with a default title and shows it first in the list", async () => {
      await freshUser();
      const created = await server.request(CreateConversation, {}, token);
      expect(created.errors).toBeUndefined();
      const conversation = created.data?.createConversation.conversation;
      expect(conversation).toMatchObject({ title: "New conversation", messageCount: 0, archivedAt: null });
      const list = await server.request(ConversationsQuery, { first: 10 }, token);
      expect(list.data?.conversations.edges.map((e) => e.node.id)).toEqual([conversation?.id]);
      expect(list.data?.conversations.totalCount).toBe(1);
    });

    it("normalizes the title: trimmed, single line", async () => {
      await freshUser();
      const created = await server.request(CreateConversation, { title: "  Trip\n to\tRome  " }, token);
      expect(created.data?.createConversation.conversation.title).toBe("Trip to Rome");
    });

    it.each([
      ["empty", "   "],
      ["too long", "x".repeat(201)],
    ])("rejects a %s title with BAD_USER_INPUT and writes nothing", async (_name, title) => {
      await freshUser();
      const created = await server.request(CreateConversation, { title }, token);
      expect(codes(created)).toEqual(["BAD_USER_INPUT"]);
      expect(created.errors?.[0]?.extensions?.field).toBe("title");
      expect(await server.db.prisma.conversation.count({ where: { ownerId: user } })).toBe(0);
    });
  });

  describe("renameConversation", () => {
    it("renames and keeps the activity order", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user, { title: "old" });
      const id = encodeGlobalID("Conversation", c.id);
      const renamed = await server.request(RenameConversation, { id, title: "new" }, token);
      expect(renamed.data?.renameConversation.conversation).toMatchObject({ id, title: "new" });
      expect(renamed.data?.renameConversation.conversation.lastActivityAt).toBe(c.activityAt.toISOString());
    });

    it("answers NOT_FOUND for a missing id and BAD_USER_INPUT for a malformed one", async () => {
      await freshUser();
      const missing = await server.request(
        RenameConversation,
        { id: encodeGlobalID("Conversation", randomUUID()), title: "x" },
        token,
      );
      expect(codes(missing)).toEqual(["NOT_FOUND"]);
      const malformed = await server.request(RenameConversation, { id: "%%%", title: "x" }, token);
      expect(codes(malformed)).toEqual(["BAD_USER_INPUT"]);
      const wrongType = await server.request(
        RenameConversation,
        { id: encodeGlobalID("Message", randomUUID()), title: "x" },
        token,
      );
      expect(codes(wrongType)).toEqual(["NOT_FOUND"]);
    });

    it("rejects an empty title and leaves the old one", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user, { title: "keep" });
      const renamed = await server.request(
        RenameConversation,
        { id: encodeGlobalID("Conversation", c.id), title: "" },
        token,
      );
      expect(codes(renamed)).toEqual(["BAD_USER_INPUT"]);
      expect((await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: c.id } })).title).toBe(
        "keep",
      );
    });
  });

  describe("archive and unarchive", () => {
    it("moves a conversation between the two lists, idempotently", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user);
      const id = encodeGlobalID("Conversation", c.id);
      const archived = await server.request(ArchiveConversation, { id }, token);
      const archivedAt = archived.data?.archiveConversation.conversation.archivedAt;
      expect(archivedAt).toBeTruthy();
      const again = await server.request(ArchiveConversation, { id }, token);
      expect(again.data?.archiveConversation.conversation.archivedAt).toBe(archivedAt);

      const active = await server.request(ConversationsQuery, { first: 10 }, token);
      expect(active.data?.conversations.edges).toEqual([]);
      const archivedList = await server.request(ConversationsQuery, { first: 10, archived: true }, token);
      expect(archivedList.data?.conversations.edges.map((e) => e.node.id)).toEqual([id]);
      const viewer = await server.request(ViewerQuery, {}, token);
      expect(viewer.data?.viewer).toEqual({ id: user, conversationCount: 0, archivedCount: 1 });

      const restored = await server.request(UnarchiveConversation, { id }, token);
      expect(restored.data?.unarchiveConversation.conversation.archivedAt).toBeNull();
      const activeAgain = await server.request(ConversationsQuery, { first: 10 }, token);
      expect(activeAgain.data?.conversations.edges.map((e) => e.node.id)).toEqual([id]);
    });

    it("answers NOT_FOUND for a missing conversation", async () => {
      await freshUser();
      const id = encodeGlobalID("Conversation", randomUUID());
      expect(codes(await server.request(ArchiveConversation, { id }, token))).toEqual(["NOT_FOUND"]);
      expect(codes(await server.request(UnarchiveConversation, { id }, token))).toEqual(["NOT_FOUND"]);
    });
  });

  describe("deleteConversation", () => {
    it("deletes the conversation with its messages and tool calls", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user, { messages: 4, toolCalls: true });
      const messageIds = (await server.db.prisma.message.findMany({ where: { conversationId: c.id } })).map(
        (m) => m.id,
      );
      expect(await server.db.prisma.toolCall.count({ where: { messageId: { in: messageIds } } })).toBe(1);
      const id = encodeGlobalID("Conversation", c.id);
      const deleted = await server.request(DeleteConversation, { id }, token);
      expect(deleted.data?.deleteConversation.deletedId).toBe(id);
      expect(await server.db.prisma.message.count({ where: { conversationId: c.id } })).toBe(0);
      expect(await server.db.prisma.toolCall.count({ where: { messageId: { in: messageIds } } })).toBe(0);
      expect(codes(await server.request(ConversationQuery, { id }, token))).toEqual(["NOT_FOUND"]);
      expect(codes(await server.request(DeleteConversation, { id }, token))).toEqual(["NOT_FOUND"]);
    });
  });

  describe("conversations pagination", () => {
    async function seedMany(n: number) {
      await freshUser();
      const base = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const c = await seedConversation(server.db.prisma, user, { activityAt: new Date(base - i * 1000) });
        ids.push(encodeGlobalID("Conversation", c.id));
      }
      return ids; // newest first
    }

    /** Every conversation of the current user, read with `last: size` pages from the newest back. */
    async function pageBackward(size: number) {
      const back: string[] = [];
      let before: string | null | undefined = null;
      for (;;) {
        const page: ConversationsPage = await server.request(
          ConversationsQuery,
          { last: size, before },
          token,
        );
        const c = page.data?.conversations;
        back.unshift(...(c?.edges.map((e) => e.node.id) ?? []));
        if (!c?.pageInfo.hasPreviousPage) return back;
        before = c.pageInfo.startCursor;
      }
    }

    it("answers an empty page with no cursors", async () => {
      await freshUser();
      const page = await server.request(ConversationsQuery, { first: 5 }, token);
      expect(page.data?.conversations).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    });

    it("answers one item", async () => {
      const ids = await seedMany(1);
      const page = await server.request(ConversationsQuery, { first: 5 }, token);
      expect(page.data?.conversations.edges.map((e) => e.node.id)).toEqual(ids);
      expect(page.data?.conversations.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    });

    it("says there is no next page when the page size is exactly the count", async () => {
      const ids = await seedMany(3);
      const page = await server.request(ConversationsQuery, { first: 3 }, token);
      expect(page.data?.conversations.edges.map((e) => e.node.id)).toEqual(ids);
      expect(page.data?.conversations.pageInfo.hasNextPage).toBe(false);
    });

    it("pages forward then backward without loss or duplicates, most recent first", async () => {
      const ids = await seedMany(7);
      const seen: string[] = [];
      let after: string | null | undefined = null;
      for (;;) {
        const page: ConversationsPage = await server.request(ConversationsQuery, { first: 3, after }, token);
        const c = page.data?.conversations;
        seen.push(...(c?.edges.map((e) => e.node.id) ?? []));
        if (!c?.pageInfo.hasNextPage) break;
        after = c.pageInfo.endCursor;
      }
      expect(seen).toEqual(ids);

      const back = await pageBackward(3);
      expect(back).toEqual(ids);
    });

    it("pages through equal activity times by id, and reads a backward page with a LIMIT", async () => {
      await freshUser();
      const same = new Date();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await seedConversation(server.db.prisma, user, { activityAt: same });
        ids.push(encodeGlobalID("Conversation", c.id));
      }
      const all = await server.request(ConversationsQuery, { first: 10 }, token);
      const order = all.data?.conversations.edges.map((e) => e.node.id) ?? [];
      expect([...order].sort()).toEqual([...ids].sort());

      const statements: string[] = [];
      onQuery(server.db.prisma, (e) => statements.push(e.query));
      const back = await pageBackward(4);
      expect(back).toEqual(order);
      const pages = statements.filter((q) => /FROM "public"\."Conversation"/.test(q) && /ORDER BY/.test(q));
      expect(pages.length).toBeGreaterThanOrEqual(2);
      for (const page of pages) expect(page).toMatch(/LIMIT/);
    });

    it("rejects forged, foreign and stale cursors with BAD_USER_INPUT", async () => {
      await seedMany(2);
      const forged = await server.request(ConversationsQuery, { first: 2, after: "bm90LWEtY3Vyc29y" }, token);
      expect(codes(forged)).toEqual(["BAD_USER_INPUT"]);
      const garbage = await server.request(ConversationsQuery, { first: 2, after: "%%%" }, token);
      expect(codes(garbage)).toEqual(["BAD_USER_INPUT"]);

      const page = await server.request(ConversationsQuery, { first: 1 }, token);
      const cursor = page.data?.conversations.pageInfo.endCursor;
      const firstId = page.data?.conversations.edges[0]?.node.id;
      const owner = token;
      const { token: other } = await freshUser();
      expect(codes(await server.request(ConversationsQuery, { first: 2, after: cursor }, other))).toEqual([
        "BAD_USER_INPUT",
      ]);

      await server.db.prisma.conversation.deleteMany({ where: { id: idOf(firstId) } });
      const stale = await server.request(ConversationsQuery, { first: 2, after: cursor }, owner);
      expect(codes(stale)).toEqual(["BAD_USER_INPUT"]);
    });

    it.each([[{ first: 101 }], [{ last: 101 }], [{ first: -1 }]])(
      "rejects page arguments %j with BAD_USER_INPUT",
      async (args) => {
        await freshUser();
        expect(codes(await server.request(ConversationsQuery, args, token))).toEqual(["BAD_USER_INPUT"]);
      },
    );
  });

  describe("messages pagination", () => {
    it("pages messages oldest first, and backwards from the newest to load older history", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user, { messages: 11 });
      const id = encodeGlobalID("Conversation", c.id);
      const forward: number[] = [];
      let after: string | null | undefined = null;
      for (;;) {
        const page: MessagesPage = await server.request(MessagesQuery, { id, first: 4, after }, token);
        const m = page.data?.conversation?.messages;
        expect(m?.totalCount).toBe(11);
        forward.push(...(m?.edges.map((e) => e.node.position) ?? []));
        if (!m?.pageInfo.hasNextPage) break;
        after = m.pageInfo.endCursor;
      }
      expect(forward).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

      const latest = await server.request(MessagesQuery, { id, last: 4 }, token);
      const m = latest.data?.conversation?.messages;
      expect(m?.edges.map((e) => e.node.position)).toEqual([8, 9, 10, 11]);
      expect(m?.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
      const older = await server.request(
        MessagesQuery,
        { id, last: 4, before: m?.pageInfo.startCursor },
        token,
      );
      expect(older.data?.conversation?.messages.edges.map((e) => e.node.position)).toEqual([4, 5, 6, 7]);
    });

    it("rejects a cursor from another conversation", async () => {
      await freshUser();
      const a = await seedConversation(server.db.prisma, user, { messages: 3 });
      const b = await seedConversation(server.db.prisma, user, { messages: 3 });
      const page = await server.request(
        MessagesQuery,
        { id: encodeGlobalID("Conversation", a.id), first: 1 },
        token,
      );
      const cursor = page.data?.conversation?.messages.pageInfo.endCursor;
      const wrong = await server.request(
        MessagesQuery,
        { id: encodeGlobalID("Conversation", b.id), first: 1, after: cursor },
        token,
      );
      expect(codes(wrong)).toEqual(["BAD_USER_INPUT"]);
    });
  });

  describe("SQL statements", () => {
    it("lists 50 conversations with lastMessage and messageCount in a fixed, small number of statements", async () => {
      await freshUser();
      for (let i = 0; i < 50; i++) await seedConversation(server.db.prisma, user, { messages: 3 });
      const statements: string[] = [];
      const listener = (e: { query: string }) => statements.push(e.query);
      onQuery(server.db.prisma, listener);
      const page = await server.request(ConversationsQuery, { first: 50 }, token);
      expect(page.data?.conversations.edges).toHaveLength(50);
      expect(page.data?.conversations.edges.every((e) => e.node.lastMessage?.position === 3)).toBe(true);
      // The approval timeout's periodic sweep (an UPDATE of "ToolCall", then a read of the replies it
      // unblocked) may fall inside the window: not part of the page.
      const sweep = /"ToolCall"/;
      const counted = statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q) && !sweep.test(q));
      // One page query (conversations joined with their last message) and one totalCount query.
      expect(counted.length).toBeLessThanOrEqual(2);
      expect(counted).toMatchSnapshot();
    });
  });
});

function idOf(globalId: string | undefined): string {
  if (!globalId) throw new Error("missing id");
  return Buffer.from(globalId, "base64").toString().split(":")[1] ?? "";
}
