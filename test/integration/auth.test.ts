import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import {
  ArchiveConversation,
  ConversationQuery,
  ConversationsQuery,
  DeleteConversation,
  MessagesQuery,
  NodeQuery,
  RenameConversation,
  UnarchiveConversation,
  ViewerQuery,
} from "../utils/operations.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokenFor } from "../utils/server.js";

function codes(response: { errors?: { extensions?: { code?: string } }[] }) {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

/** An unsigned token (`alg: none`) claiming to be `sub`. */
function unsignedToken(sub: string) {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

describe.each(testDatabaseKinds())("authorization on %s", (kind) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let conversationId: string;
  let messageId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const aliceId = `alice-${randomUUID()}`;
    alice = await tokenFor(aliceId);
    bob = await tokenFor(`bob-${randomUUID()}`);
    const c = await seedConversation(server.db.prisma, aliceId, { title: "alice's secret", messages: 2 });
    conversationId = encodeGlobalID("Conversation", c.id);
    const m = await server.db.prisma.message.findFirstOrThrow({
      where: { conversationId: c.id },
      orderBy: { position: "asc" },
    });
    messageId = encodeGlobalID("Message", m.id);
  });
  afterAll(() => server?.close());

  async function aliceConversationUnchanged() {
    const row = await server.db.prisma.conversation.findFirstOrThrow({ where: { title: "alice's secret" } });
    expect(row.archivedAt).toBeNull();
  }

  it("lets the owner read and list", async () => {
    const own = await server.request(ConversationQuery, { id: conversationId }, alice);
    expect(own.data?.conversation?.title).toBe("alice's secret");
    const node = await server.request(NodeQuery, { id: messageId }, alice);
    expect(node.data?.node).toMatchObject({ __typename: "Message", content: "message 1" });
  });

  describe("another user", () => {
    it("gets NOT_FOUND for conversation(id) and its messages", async () => {
      const read = await server.request(ConversationQuery, { id: conversationId }, bob);
      expect(read.data?.conversation).toBeNull();
      expect(codes(read)).toEqual(["NOT_FOUND"]);
      const messages = await server.request(MessagesQuery, { id: conversationId, first: 5 }, bob);
      expect(codes(messages)).toEqual(["NOT_FOUND"]);
    });

    it("gets node(id) null with NOT_FOUND for the conversation and the message, as for ids that do not exist", async () => {
      for (const id of [conversationId, messageId, encodeGlobalID("Message", randomUUID())]) {
        const node = await server.request(NodeQuery, { id }, bob);
        expect(node.data?.node).toBeNull();
        expect(codes(node)).toEqual(["NOT_FOUND"]);
        expect(node.errors?.[0]?.message).toBe("Not found");
      }
    });

    it("does not see it in lists or counts", async () => {
      const list = await server.request(ConversationsQuery, { first: 100 }, bob);
      expect(list.data?.conversations.edges).toEqual([]);
      const viewer = await server.request(ViewerQuery, {}, bob);
      expect(viewer.data?.viewer.conversationCount).toBe(0);
    });

    it.each([
      ["renameConversation", RenameConversation, { title: "pwned" }],
      ["archiveConversation", ArchiveConversation, {}],
      ["unarchiveConversation", UnarchiveConversation, {}],
      ["deleteConversation", DeleteConversation, {}],
    ] as const)("gets NOT_FOUND from %s and changes nothing", async (_name, mutation, extra) => {
      // biome-ignore lint/suspicious/noExplicitAny: the table mixes four operations' variable types
      const response = await server.request(mutation as any, { id: conversationId, ...extra }, bob);
      expect(codes(response)).toEqual(["NOT_FOUND"]);
      await aliceConversationUnchanged();
      const row = await server.db.prisma.conversation.findFirst({ where: { title: "alice's secret" } });
      expect(row).not.toBeNull();
    });
  });

  describe("tokens", () => {
    it("answers UNAUTHENTICATED without a token", async () => {
      const response = await server.request(ViewerQuery, {}, null);
      expect(codes(response)).toEqual(["UNAUTHENTICATED"]);
    });

    it.each([
      ["expired", () => tokenFor("alice", { expiresIn: Math.floor(Date.now() / 1000) - 60 }), /expired/i],
      [
        "signed with another secret",
        () => tokenFor("alice", { secret: `${TEST_JWT_SECRET}-other` }),
        /invalid/i,
      ],
      ["unsigned (alg none)", async () => unsignedToken("alice"), /invalid/i],
      ["not a JWT", async () => "not.a.jwt", /invalid/i],
    ])("rejects a token %s with 401 UNAUTHENTICATED", async (_name, make, message) => {
      const response = await server.request(ViewerQuery, {}, await make());
      expect(response.status).toBe(401);
      expect(codes(response)).toEqual(["UNAUTHENTICATED"]);
      expect(response.errors?.[0]?.message).toMatch(message);
    });

    it("rejects a malformed Authorization header", async () => {
      const response = await server.request(ViewerQuery, {}, null, {
        headers: { authorization: "Basic abc" },
      });
      expect(codes(response)).toEqual(["UNAUTHENTICATED"]);
    });
  });
});

describe("development auth", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite", { AUTH_JWT_SECRET: "", AUTH_DEV_MODE: "true" });
  });
  afterAll(() => server?.close());

  it("acts as dev-user without a token and trusts unsigned tokens", async () => {
    expect((await server.request(ViewerQuery, {}, null)).data?.viewer.id).toBe("dev-user");
    expect((await server.request(ViewerQuery, {}, unsignedToken("carol"))).data?.viewer.id).toBe("carol");
  });
});
