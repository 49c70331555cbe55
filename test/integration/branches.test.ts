import { randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import {
  EditMessage,
  ForkConversation,
  RegenerateReply,
  SearchActivePath,
  SendMessage,
  SwitchBranch,
  TreeQuery,
} from "../utils/operations.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, type StreamResult, yogaSSE } from "../utils/sse.js";
import type { StreamEvent } from "../utils/stream-events.js";

type Streamed = Record<string, StreamEvent | undefined>;

describe.each(testDatabaseKinds())("conversation trees on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let user: string;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, SYSTEM_PROMPT: "You are a test assistant." });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function freshUser() {
    user = `user-${randomUUID()}`;
    token = await tokenFor(user);
  }

  /** Runs a streaming operation to its end; its events, or the error code it was refused with. */
  async function stream<V>(document: TypedDocumentNode<Streamed, V>, variables: V, as = token) {
    const results: StreamResult<Streamed>[] = await collect(
      yogaSSE(server.url, document, variables, as),
      (r) => Object.values(r.data ?? {})[0]?.__typename === "MessageCompleted",
    );
    const code = results[0]?.errors?.[0]?.extensions?.code as string | undefined;
    const events = results.flatMap((r) => Object.values(r.data ?? {}).filter((e) => e !== undefined));
    return { events, code };
  }

  /** The ids of the messages a stream created: [user, assistant] or [assistant]. */
  const created = (events: StreamEvent[]) =>
    events.flatMap((e) => (e.__typename === "MessageCreated" ? [e.message.id] : []));
  const conversationOf = (events: StreamEvent[]) => {
    const first = events[0];
    if (first?.__typename !== "MessageCreated") throw new Error("no MessageCreated");
    return first.message.conversation.id;
  };

  async function send(content: string, more: { conversationId?: string; parentMessageId?: string } = {}) {
    fake.script(FakeOpenAI.text([`re: ${content}`]));
    return stream(SendMessage, { input: { content, ...more } });
  }

  async function tree(
    id: string,
    page: { first?: number; last?: number; after?: string; before?: string } = {},
  ) {
    const result = await server.request(TreeQuery, { id, ...page }, token);
    const conversation = result.data?.conversation;
    if (!conversation) throw new Error(JSON.stringify(result.errors));
    return conversation;
  }
  const contents = async (id: string) => (await tree(id)).messages.edges.map((e) => e.node.content);
  /** What the model was last sent, without the system prompt. */
  const lastHistory = () =>
    fake.requests
      .at(-1)
      ?.body.messages.filter((m) => m.role !== "system")
      .map((m) => m.content);

  /** u1 r1 u2 r2 in a new conversation: its id and the four message ids. */
  async function chain() {
    const first = await send("u1");
    const conversationId = conversationOf(first.events);
    const second = await send("u2", { conversationId });
    return { conversationId, ids: [...created(first.events), ...created(second.events)] as string[] };
  }

  it("edits a user message as a new version, answers only its branch, and keeps the old one", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    const [u1, r1, u2, r2] = ids;
    fake.script(FakeOpenAI.text(["edited answer"]));
    const edit = await stream(EditMessage, { input: { messageId: String(u2), content: "u2 edited" } });
    expect(edit.code).toBeUndefined();
    expect(lastHistory()).toEqual(["u1", "re: u1", "u2 edited"]);
    const [u2b, r2b] = created(edit.events);
    const t = await tree(conversationId);
    expect(t.messages.edges.map((e) => e.node.content)).toEqual([
      "u1",
      "re: u1",
      "u2 edited",
      "edited answer",
    ]);
    expect(t.messages.totalCount).toBe(4);
    expect(t.messageCount).toBe(6);
    expect(t.activeLeaf?.id).toBe(r2b);
    const edited = t.messages.edges[2]?.node;
    expect(edited).toMatchObject({ id: u2b, siblingIndex: 1, siblingCount: 2, isOnActivePath: true });
    expect(edited?.parent?.id).toBe(r1);
    expect(edited?.siblings.map((s) => s.id)).toEqual([u2, u2b]);
    expect(t.messages.edges[0]?.node).toMatchObject({
      id: u1,
      siblingIndex: 0,
      siblingCount: 1,
      parent: null,
    });
    // The old version is still there, off the active path.
    const old = await server.db.prisma.message.findUniqueOrThrow({ where: { id: idOf(String(r2)) } });
    expect(old).toMatchObject({ content: "re: u2", onActivePath: false });
  });

  it("regenerates a reply as a sibling answering the same message, without a new user message", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    const [, , u2, r2] = ids;
    fake.script(FakeOpenAI.text(["second take"]));
    const regen = await stream(RegenerateReply, { input: { messageId: String(r2) } });
    expect(regen.code).toBeUndefined();
    expect(regen.events.map((e) => e.__typename)).toEqual([
      "MessageCreated",
      "TextDelta",
      "MessageCompleted",
    ]);
    expect(lastHistory()).toEqual(["u1", "re: u1", "u2"]);
    const t = await tree(conversationId);
    expect(t.messages.edges.map((e) => e.node.content)).toEqual(["u1", "re: u1", "u2", "second take"]);
    const reply = t.messages.edges[3]?.node;
    expect(reply).toMatchObject({ siblingIndex: 1, siblingCount: 2, parent: { id: u2 } });
    expect(reply?.siblings.map((s) => s.id)).toEqual([r2, created(regen.events)[0]]);
  });

  it("switches branches: root .. the message .. the newest leaf below it", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    const [, , u2, r2] = ids;
    fake.script(FakeOpenAI.text(["edited answer"]));
    await stream(EditMessage, { input: { messageId: String(u2), content: "u2 edited" } });
    const back = await server.request(SwitchBranch, { messageId: String(u2) }, token);
    expect(back.data?.switchBranch.conversation.activeLeaf?.id).toBe(r2);
    expect(await contents(conversationId)).toEqual(["u1", "re: u1", "u2", "re: u2"]);
    // A send goes after the active leaf, and the model sees this branch only.
    await send("u3", { conversationId });
    expect(lastHistory()).toEqual(["u1", "re: u1", "u2", "re: u2", "u3"]);
    const t = await tree(conversationId);
    expect(t.messages.edges.map((e) => e.node.content)).toEqual([
      "u1",
      "re: u1",
      "u2",
      "re: u2",
      "u3",
      "re: u3",
    ]);
    expect(t.messages.edges.every((e) => e.node.isOnActivePath)).toBe(true);
    expect(t.messages.edges[2]?.node).toMatchObject({ siblingIndex: 0, siblingCount: 2 });
    // Switching to the edited version shows its branch again.
    const edited = t.messages.edges[2]?.node.siblings[1]?.id;
    await server.request(SwitchBranch, { messageId: String(edited) }, token);
    expect(await contents(conversationId)).toEqual(["u1", "re: u1", "u2 edited", "edited answer"]);
  });

  it("starts a branch with sendMessage(parentMessageId:), and edits a first message as a new root", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    const [u1, r1] = ids;
    const branch = await send("u2 other", { parentMessageId: String(r1) });
    expect(branch.code).toBeUndefined();
    expect(lastHistory()).toEqual(["u1", "re: u1", "u2 other"]);
    const t = await tree(conversationId);
    expect(t.messages.edges.map((e) => e.node.content)).toEqual(["u1", "re: u1", "u2 other", "re: u2 other"]);
    expect(t.messages.edges[2]?.node).toMatchObject({ siblingIndex: 1, siblingCount: 2 });

    fake.script(FakeOpenAI.text(["fresh start"]));
    await stream(EditMessage, { input: { messageId: String(u1), content: "u1 again" } });
    expect(lastHistory()).toEqual(["u1 again"]);
    const roots = await tree(conversationId);
    expect(roots.messages.edges.map((e) => e.node.content)).toEqual(["u1 again", "fresh start"]);
    expect(roots.messages.edges[0]?.node).toMatchObject({ siblingIndex: 1, siblingCount: 2, parent: null });
    expect(roots.messages.edges[0]?.node.siblings.map((s) => s.id)).toEqual([
      u1,
      roots.messages.edges[0]?.node.id,
    ]);
  });

  it("pages the active path by keyset both ways", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    await send("u3", { conversationId });
    await send("u2 other", { parentMessageId: String(ids[1]) });
    await send("u3 other", { conversationId });
    const path = ["u1", "re: u1", "u2 other", "re: u2 other", "u3 other", "re: u3 other"];
    const forward: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await tree(conversationId, { first: 4, after })).messages;
      forward.push(...page.edges.map((e) => e.node.content));
      expect(page.totalCount).toBe(6);
      if (!page.pageInfo.hasNextPage) break;
      after = String(page.pageInfo.endCursor);
    }
    expect(forward).toEqual(path);
    const backward: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = (await tree(conversationId, { last: 4, before })).messages;
      backward.unshift(...page.edges.map((e) => e.node.content));
      if (!page.pageInfo.hasPreviousPage) break;
      before = String(page.pageInfo.startCursor);
    }
    expect(backward).toEqual(path);
  });

  it("reads a page of the path with its versions in a fixed number of statements (no query per message)", async () => {
    await freshUser();
    const seeded = await seedConversation(server.db.prisma, user, { messages: 40 });
    const id = encodeGlobalID("Conversation", seeded.id);
    const statements: string[] = [];
    const listener = (e: { query: string }) => statements.push(e.query);
    onQuery(server.db.prisma, listener);
    const before = statements.length;
    const page = await tree(id, { last: 30 });
    const counted = statements.slice(before).filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q));
    expect(page.messages.edges).toHaveLength(30);
    expect(page.messages.edges.every((e) => e.node.siblingCount === 1 && e.node.siblings.length === 1)).toBe(
      true,
    );
    // The conversation, then its page with parents, versions and counts joined in.
    expect(counted.length).toBeLessThanOrEqual(3);
  });

  it("forks the path up to a message into a new conversation, tool calls included", async () => {
    await freshUser();
    const seeded = await seedConversation(server.db.prisma, user, {
      messages: 4,
      toolCalls: true,
      title: "Orig",
    });
    const messages = await server.db.prisma.message.findMany({
      where: { conversationId: seeded.id },
      orderBy: { position: "asc" },
    });
    // The seed put its tool call on one of the two replies: fork after both.
    const at = encodeGlobalID("Message", String(messages[3]?.id));
    const fork = await server.request(ForkConversation, { messageId: at, title: "Forked" }, token);
    const copy = fork.data?.forkConversation.conversation;
    expect(copy).toMatchObject({ title: "Forked", messageCount: 4, activeLeaf: { content: "message 4" } });
    expect(await contents(String(copy?.id))).toEqual(["message 1", "message 2", "message 3", "message 4"]);
    const calls = await server.db.prisma.toolCall.findMany({
      where: { message: { conversationId: idOf(String(copy?.id)) } },
    });
    expect(calls.map((c) => [c.name, c.arguments])).toEqual([["t", { a: 1 }]]);
    // The original is untouched.
    expect(await server.db.prisma.message.count({ where: { conversationId: seeded.id } })).toBe(4);
    // A fork from the middle copies the path up to there, titled as the original.
    const middle = encodeGlobalID("Message", String(messages[1]?.id));
    const untitled = await server.request(ForkConversation, { messageId: middle }, token);
    expect(untitled.data?.forkConversation.conversation).toMatchObject({ title: "Orig", messageCount: 2 });
    expect(await contents(String(untitled.data?.forkConversation.conversation.id))).toEqual([
      "message 1",
      "message 2",
    ]);
  });

  it("tells whether a search hit is on the active path, and can keep to it", async () => {
    await freshUser();
    const { ids } = await chain();
    fake.script(FakeOpenAI.text(["edited answer"]));
    await stream(EditMessage, { input: { messageId: String(ids[2]), content: "zebra edited" } });
    fake.script(FakeOpenAI.text(["striped"]));
    await stream(SendMessage, { input: { content: "zebra later", parentMessageId: String(ids[1]) } });
    const all = await server.request(SearchActivePath, { query: "zebra" }, token);
    const hits = all.data?.searchMessages.edges.map((e) => [e.node.message.content, e.node.isOnActivePath]);
    expect(hits).toHaveLength(2);
    expect(hits).toContainEqual(["zebra edited", false]);
    expect(hits).toContainEqual(["zebra later", true]);
    const onPath = await server.request(SearchActivePath, { query: "zebra", activePathOnly: true }, token);
    expect(onPath.data?.searchMessages.edges.map((e) => e.node.message.content)).toEqual(["zebra later"]);
    expect(onPath.data?.searchMessages.totalCount).toBe(1);
  });

  it("keeps editMessage idempotent per user by clientMessageId", async () => {
    await freshUser();
    const { ids } = await chain();
    const key = `edit-${randomUUID()}`;
    fake.script(FakeOpenAI.text(["once"]));
    const first = await stream(EditMessage, {
      input: { messageId: String(ids[2]), content: "again", clientMessageId: key },
    });
    const before = await server.db.prisma.message.count({ where: { ownerId: user } });
    const second = await stream(EditMessage, {
      input: { messageId: String(ids[2]), content: "again", clientMessageId: key },
    });
    expect(second.code).toBeUndefined();
    expect(second.events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { content: "once" },
    });
    const completed = second.events.at(-1);
    expect(completed?.__typename === "MessageCompleted" && completed.message.id).toBe(
      created(first.events)[1],
    );
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(before);
  });

  it("saves an edit, a regenerated reply and a branch each in one statement, and its end in one, with no transaction", async () => {
    await freshUser();
    const { conversationId, ids } = await chain();
    const statements: string[] = [];
    onQuery(server.db.prisma, (e: { query: string }) => statements.push(e.query));
    fake.script(FakeOpenAI.text(["edited"]));
    await stream(EditMessage, { input: { messageId: String(ids[2]), content: "u2 again" } });
    fake.script(FakeOpenAI.text(["again"]));
    await stream(RegenerateReply, { input: { messageId: String(ids[3]) } });
    await send("branch", { parentMessageId: String(ids[1]) });
    await server.request(SwitchBranch, { messageId: String(ids[2]) }, token);
    const flush = /^UPDATE "public"\."Message" AS m/;
    const writes = statements.filter((q) => /^\s*(WITH|INSERT|UPDATE|DELETE)/.test(q) && !flush.test(q));
    // Per send: the exchange (claim, path, messages), then the end; the switch: one.
    expect(writes).toHaveLength(7);
    expect(statements.filter((q) => /^(BEGIN|COMMIT)/i.test(q))).toEqual([]);
    // Back to the first version of u2: the newest leaf below it is the regenerated reply.
    expect(await contents(conversationId)).toEqual(["u1", "re: u1", "u2", "again"]);
  });

  it("refuses with a clear code and writes nothing", async () => {
    await freshUser();
    const mine = await chain();
    const other = await chain();
    const [u1, r1] = mine.ids;
    const count = () => server.db.prisma.message.count({ where: { ownerId: user } });
    const leaf = () => tree(mine.conversationId).then((t) => t.activeLeaf?.id);
    const before = await count();
    const leafBefore = await leaf();
    const missing = encodeGlobalID("Message", randomUUID());

    // A message of another conversation as parent.
    const crossed = await stream(SendMessage, {
      input: { content: "x", conversationId: mine.conversationId, parentMessageId: String(other.ids[1]) },
    });
    expect(crossed.code).toBe("BAD_USER_INPUT");
    // Editing an assistant message, regenerating a user message.
    expect((await stream(EditMessage, { input: { messageId: String(r1), content: "x" } })).code).toBe(
      "BAD_USER_INPUT",
    );
    expect((await stream(RegenerateReply, { input: { messageId: String(u1) } })).code).toBe("BAD_USER_INPUT");
    // Missing messages.
    expect((await stream(EditMessage, { input: { messageId: missing, content: "x" } })).code).toBe(
      "NOT_FOUND",
    );
    const switched = await server.request(SwitchBranch, { messageId: missing }, token);
    expect(switched.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(await count()).toBe(before);
    expect(await leaf()).toBe(leafBefore);

    // Another user's ids look missing.
    const owner = token;
    await freshUser();
    const codes = [
      (await stream(SendMessage, { input: { content: "x", parentMessageId: String(r1) } })).code,
      (await stream(EditMessage, { input: { messageId: String(u1), content: "x" } })).code,
      (await stream(RegenerateReply, { input: { messageId: String(r1) } })).code,
      (await server.request(SwitchBranch, { messageId: String(u1) }, token)).errors?.[0]?.extensions?.code,
      (await server.request(ForkConversation, { messageId: String(r1) }, token)).errors?.[0]?.extensions
        ?.code,
    ];
    expect(codes).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]);
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(0);
    expect(await server.db.prisma.conversation.count({ where: { ownerId: user } })).toBe(0);
    token = owner;
    expect(await leaf()).toBe(leafBefore);
  });
});

function idOf(globalId: string): string {
  return Buffer.from(globalId, "base64").toString().split(":")[1] ?? "";
}
