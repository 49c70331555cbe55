import { randomUUID } from "node:crypto";
import type { Client } from "@urql/core";
import { print } from "graphql";
import { createClient as createSSEClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArchiveConversationDocument,
  ConversationListDocument,
  type ConversationListQuery,
  ConversationMessagesDocument,
  type ConversationMessagesQuery,
  CreateConversationDocument,
  DeleteConversationDocument,
  MessageStreamDocument,
  PinConversationDocument,
  RegenerateReplyDocument,
  RenameConversationDocument,
  SearchMessagesDocument,
  SendMessageDocument,
  type SendMessageSubscriptionVariables,
  SetConversationTagsDocument,
  type StreamEventFragment,
  SwitchBranchDocument,
  ViewerEventsDocument,
} from "../../sdk/index.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { type RecordedExchange, urqlClient, urqlClientWithSSE } from "../utils/clients.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startProxy } from "../utils/proxy.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { increasing, mergedTypes } from "../utils/stream-events.js";

type Stream = { sendMessage?: StreamEventFragment; messageStream?: StreamEventFragment };

/** Sends a message through urql and collects the events until MessageCompleted. */
function send(client: Client, variables: SendMessageSubscriptionVariables): Promise<StreamEventFragment[]> {
  return new Promise((resolve, reject) => {
    const events: StreamEventFragment[] = [];
    const subscription = client.subscription(SendMessageDocument, variables).subscribe((result) => {
      if (result.error) {
        subscription.unsubscribe();
        reject(result.error);
        return;
      }
      const event = result.data?.sendMessage;
      if (!event) return;
      events.push(event);
      if (event.__typename === "MessageCompleted") {
        subscription.unsubscribe();
        resolve(events);
      }
    });
  });
}

/** Keeps the latest data a watched query emits (Graphcache re-emits when the cache changes). */
function watch<T>(source: { subscribe(fn: (result: { data?: T }) => void): { unsubscribe(): void } }) {
  const state: { data: T | undefined; emissions: number; stop: () => void } = {
    data: undefined,
    emissions: 0,
    stop: () => {},
  };
  state.stop = source.subscribe((result) => {
    if (result.data) {
      state.data = result.data;
      state.emissions += 1;
    }
  }).unsubscribe;
  return state;
}

const textOf = (events: StreamEventFragment[]) =>
  events.map((e) => (e.__typename === "TextDelta" ? e.delta : "")).join("");

// The client libraries are what is under test here; the server's behaviour on both databases is covered
// by the other suites, so one database kind (the first selected) keeps CI lean.
const [kind = "pglite"] = testDatabaseKinds();

describe(`urql against the API (${kind})`, () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let user: string;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      FLUSH_INTERVAL_MS: "50",
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function freshUser() {
    user = `user-${randomUUID()}`;
    token = await tokenFor(user);
  }

  async function serverList() {
    const response = await server.request(ConversationListDocument, { first: 100 }, token);
    return response.data?.conversations.edges.map((e) => e.node.id) ?? [];
  }

  it("merges conversation pages with Graphcache's relayPagination and updates the list after mutations", async () => {
    await freshUser();
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      await seedConversation(server.db.prisma, user, {
        title: `Conversation ${i + 1}`,
        activityAt: new Date(now - i * 60_000),
      });
    }
    const log: RecordedExchange[] = [];
    const client = urqlClient(server.url, token, log);
    const list = watch<ConversationListQuery>(client.query(ConversationListDocument, { first: 2 }));
    await expect.poll(() => list.data?.conversations.edges.length).toBe(2);
    // As an app does: ask for the next page, Graphcache answers with all pages merged.
    let after = list.data?.conversations.pageInfo.endCursor;
    let merged: ConversationListQuery | undefined;
    while (after) {
      merged = (await client.query(ConversationListDocument, { first: 2, after }).toPromise()).data;
      after = merged?.conversations.pageInfo.hasNextPage ? merged.conversations.pageInfo.endCursor : null;
    }
    const ids = merged?.conversations.edges.map((e) => e.node.id) ?? [];
    expect(merged?.conversations.edges.map((e) => e.node.title)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `Conversation ${n}`),
    );
    expect(new Set(ids).size).toBe(5);
    expect(ids).toEqual(await serverList());
    await expect.poll(() => list.data?.conversations.edges.length).toBe(5);

    const [first, second, third] = ids;
    if (!first || !second || !third) throw new Error("seeded conversations missing");
    const before = log.length;
    await client.mutation(RenameConversationDocument, { id: second, title: "Renamed" }).toPromise();
    await expect.poll(() => list.data?.conversations.edges[1]?.node.title).toBe("Renamed");
    const created = await client.mutation(CreateConversationDocument, { title: "Fresh" }).toPromise();
    await client.mutation(ArchiveConversationDocument, { id: third }).toPromise();
    await client.mutation(DeleteConversationDocument, { id: first }).toPromise();
    const expected = await serverList();
    expect(expected[0]).toBe(created.data?.createConversation.conversation.id);
    await expect.poll(() => list.data?.conversations.edges.map((e) => e.node.id)).toEqual(expected);
    expect(list.data?.conversations.totalCount).toBe(4);
    // Every change came from the mutations' results: no list was fetched again.
    expect(log.slice(before).map((r) => r.operationName)).toEqual([
      "RenameConversation",
      "CreateConversation",
      "ArchiveConversation",
      "DeleteConversation",
    ]);
    list.stop();
  });

  it("keeps another tab's list in sync from viewerEvents through Graphcache's updater", async () => {
    await freshUser();
    const now = Date.now();
    const seeded = [];
    for (let i = 0; i < 3; i++)
      seeded.push(
        await seedConversation(server.db.prisma, user, {
          title: `Conversation ${i + 1}`,
          activityAt: new Date(now - i * 60_000),
        }),
      );
    const gid = (id: string) => Buffer.from(`Conversation:${id}`).toString("base64");
    const [c1, c2, c3] = seeded.map((c) => gid(c.id)) as [string, string, string];
    const log: RecordedExchange[] = [];
    const tab = urqlClient(server.url, token, log);
    const list = watch<ConversationListQuery>(tab.query(ConversationListDocument, { first: 10 }));
    await expect.poll(() => list.data?.conversations.edges.length).toBe(3);
    // A list narrowed to a tag, shown too: conversations join and leave it as their tags change.
    const tagged = watch<ConversationListQuery>(
      tab.query(ConversationListDocument, { first: 10, tag: "Work" }),
    );
    const inTag = () => tagged.data?.conversations.edges.map((e) => e.node.title);
    await expect.poll(inTag).toEqual([]);
    const streams = server.runtime.streams.size;
    const events = tab.subscription(ViewerEventsDocument, {}).subscribe(() => {});
    await expect.poll(() => server.runtime.streams.size).toBe(streams + 1);
    const titles = () => list.data?.conversations.edges.map((e) => e.node.title);

    // Another tab (plain requests) makes every kind of change; Graphcache's updater moves this tab's list.
    const created = await server.request(CreateConversationDocument, { title: "From the other tab" }, token);
    const fresh = created.data?.createConversation.conversation.id as string;
    await expect
      .poll(titles)
      .toEqual(["From the other tab", "Conversation 1", "Conversation 2", "Conversation 3"]);
    expect(list.data?.conversations.totalCount).toBe(4);
    await server.request(RenameConversationDocument, { id: c3, title: "Third" }, token);
    await expect.poll(titles).toContain("Third");
    await server.request(PinConversationDocument, { id: c3 }, token);
    await expect.poll(titles).toEqual(["Third", "From the other tab", "Conversation 1", "Conversation 2"]);
    await server.request(ArchiveConversationDocument, { id: c1 }, token);
    await expect.poll(titles).toEqual(["Third", "From the other tab", "Conversation 2"]);
    expect(list.data?.conversations.totalCount).toBe(3);

    // A reply in the other tab: its conversation moves below the pin, its reply running, then not.
    const gate = deferred();
    fake.script({ chunks: [{ content: "hi" }, { content: " there", gate: gate.promise }] });
    const running = yogaSSE(
      server.url,
      SendMessageDocument,
      { input: { conversationId: c2, content: "x" } },
      token,
    );
    let replyId: string | undefined;
    const reading = (async () => {
      for await (const result of running) {
        const event = result.data?.sendMessage;
        if (event?.__typename === "MessageCreated" && event.message.role === "ASSISTANT")
          replyId = event.message.id;
      }
    })();
    const activeReply = () =>
      list.data?.conversations.edges.find((e) => e.node.id === c2)?.node.activeReplyId;
    await expect.poll(() => replyId !== undefined && activeReply() === replyId).toBe(true);
    expect(titles()?.slice(0, 2)).toEqual(["Third", "Conversation 2"]);
    gate.resolve();
    await reading;
    await expect.poll(activeReply).toBeNull();

    await server.request(SetConversationTagsDocument, { id: c2, tags: ["work"] }, token);
    await expect.poll(inTag).toEqual(["Conversation 2"]);
    await server.request(SetConversationTagsDocument, { id: c2, tags: [] }, token);
    await expect.poll(inTag).toEqual([]);

    await server.request(DeleteConversationDocument, { id: fresh }, token);
    await expect.poll(() => list.data?.conversations.edges.map((e) => e.node.id)).toEqual(await serverList());
    expect(titles()).toEqual(["Third", "Conversation 2"]);
    expect(list.data?.conversations.totalCount).toBe(2);
    // Everything came from the events: besides them, this tab asked once per list (by GET).
    expect(log.filter((r) => r.operationName !== "ViewerEvents")).toHaveLength(2);
    events.unsubscribe();
    list.stop();
    tagged.stop();
  });

  it("keeps pinned conversations first: a pin refetches the list, new activity goes below the pins", async () => {
    await freshUser();
    const now = Date.now();
    for (let i = 0; i < 3; i++) {
      await seedConversation(server.db.prisma, user, { activityAt: new Date(now - i * 60_000) });
    }
    const client = urqlClient(server.url, token, []);
    const list = watch<ConversationListQuery>(client.query(ConversationListDocument, { first: 10 }));
    await expect.poll(() => list.data?.conversations.edges.length).toBe(3);
    const pinnedId = (await serverList())[2] ?? "";
    await client.mutation(PinConversationDocument, { id: pinnedId }).toPromise();
    await expect.poll(() => list.data?.conversations.edges[0]?.node.id).toBe(pinnedId);
    expect(list.data?.conversations.edges.map((e) => e.node.id)).toEqual(await serverList());

    const created = await client.mutation(CreateConversationDocument, { title: "Fresh" }).toPromise();
    const expected = await serverList();
    expect(expected[1]).toBe(created.data?.createConversation.conversation.id);
    await expect.poll(() => list.data?.conversations.edges.map((e) => e.node.id)).toEqual(expected);
    list.stop();
  });

  it("loads older messages with relayPagination (last/before) without duplicates", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 23 });
    const [id] = await serverList();
    if (!id) throw new Error("no conversation");
    const client = urqlClient(server.url, token);
    let page = (await client.query(ConversationMessagesDocument, { id, last: 10 }).toPromise()).data;
    let pages = 1;
    while (page?.conversation?.messages.pageInfo.hasPreviousPage) {
      const before = page.conversation.messages.pageInfo.startCursor;
      page = (await client.query(ConversationMessagesDocument, { id, last: 10, before }).toPromise()).data;
      pages += 1;
    }
    expect(pages).toBe(3);
    const positions = page?.conversation?.messages.edges.map((e) => e.node.position);
    expect(positions).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
  });

  it("pages through search results with relayPagination, without duplicates", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 12 });
    const client = urqlClient(server.url, token);
    let page = (await client.query(SearchMessagesDocument, { query: "message", first: 5 }).toPromise()).data;
    while (page?.searchMessages.pageInfo.hasNextPage) {
      const after = page.searchMessages.pageInfo.endCursor;
      page = (await client.query(SearchMessagesDocument, { query: "message", first: 5, after }).toPromise())
        .data;
    }
    const ids = page?.searchMessages.edges.map((e) => e.node.message.id) ?? [];
    expect(new Set(ids).size).toBe(12);
    expect(page?.searchMessages.totalCount).toBe(12);
    const all = await server.request(SearchMessagesDocument, { query: "message", first: 100 }, token);
    expect(ids).toEqual(all.data?.searchMessages.edges.map((e) => e.node.message.id));
  });

  it("streams sendMessage over yoga's SSE (fetchSubscriptions) and Graphcache updates the open views", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 2 });
    await seedConversation(server.db.prisma, user, {
      title: "Newer",
      activityAt: new Date(Date.now() + 1000),
    });
    const [newest, id] = await serverList();
    if (!id || !newest) throw new Error("no conversation");
    const log: RecordedExchange[] = [];
    const client = urqlClient(server.url, token, log);
    const list = watch<ConversationListQuery>(client.query(ConversationListDocument, {}));
    const history = watch<ConversationMessagesQuery>(client.query(ConversationMessagesDocument, { id }));
    await expect.poll(() => history.data?.conversation?.messages.edges.length).toBe(2);
    await expect.poll(() => list.data?.conversations.edges.length).toBe(2);

    fake.script(FakeOpenAI.text(["Stream", "ing ", "works"]));
    const events = await send(client, { input: { conversationId: id, content: "Does it stream?" } });
    expect(increasing(events.map((e) => e.seq))).toBe(true);
    expect(events.at(-1)?.seq).toBe(6);
    expect(textOf(events)).toBe("Streaming works");
    expect(events.at(-1)).toMatchObject({ message: { status: "COMPLETE", content: "Streaming works" } });
    const exchange = log.find((r) => r.operationName === "SendMessage");
    expect(exchange?.accept).toContain("text/event-stream");
    expect(exchange?.contentType).toContain("text/event-stream");

    const messages = () => history.data?.conversation?.messages.edges.map((e) => e.node) ?? [];
    await expect
      .poll(() => messages().map((m) => [m.position, m.role, m.content, m.status]))
      .toEqual([
        [1, "USER", "message 1", "COMPLETE"],
        [2, "ASSISTANT", "message 2", "COMPLETE"],
        [3, "USER", "Does it stream?", "COMPLETE"],
        [4, "ASSISTANT", "Streaming works", "COMPLETE"],
      ]);
    expect(list.data?.conversations.edges.map((e) => e.node.id)).toEqual([id, newest]);
    expect(list.data?.conversations.edges[0]?.node).toMatchObject({
      messageCount: 4,
      lastMessage: { content: "Streaming works" },
    });
    const fresh = await server.request(ConversationMessagesDocument, { id }, token);
    expect(fresh.data?.conversation?.messages.edges.map((e) => e.node)).toEqual(
      messages().map((m) => {
        const { __typename, ...fields } = m as typeof m & { __typename?: string };
        return fields;
      }),
    );
    list.stop();
    history.stop();
  });

  it("refreshes the cached path after a new version (regenerateReply) and a branch switch", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 2 });
    const [id] = await serverList();
    if (!id) throw new Error("no conversation");
    const client = urqlClient(server.url, token);
    const history = watch<ConversationMessagesQuery>(client.query(ConversationMessagesDocument, { id }));
    const shown = () =>
      history.data?.conversation?.messages.edges.map((e) => [
        e.node.content,
        e.node.siblingIndex,
        e.node.siblingCount,
      ]);
    await expect.poll(shown).toEqual([
      ["message 1", 0, 1],
      ["message 2", 0, 1],
    ]);
    const first = history.data?.conversation?.messages.edges[1]?.node.id ?? "";

    fake.script(FakeOpenAI.text(["second version"]));
    await new Promise<void>((resolve, reject) => {
      const subscription = client
        .subscription(RegenerateReplyDocument, { input: { messageId: first } })
        .subscribe((result) => {
          if (result.error) reject(result.error);
          if (result.data?.regenerateReply.__typename === "MessageCompleted") {
            subscription.unsubscribe();
            resolve();
          }
        });
    });
    await expect.poll(shown).toEqual([
      ["message 1", 0, 1],
      ["second version", 1, 2],
    ]);

    const switched = await client.mutation(SwitchBranchDocument, { messageId: first }).toPromise();
    expect(switched.error).toBeUndefined();
    await expect.poll(shown).toEqual([
      ["message 1", 0, 1],
      ["message 2", 0, 2],
    ]);
    history.stop();
  });

  it("streams a whole reply through subscriptionExchange with the graphql-sse client", async () => {
    await freshUser();
    const { client, sse } = urqlClientWithSSE(server.url, token);
    fake.script(FakeOpenAI.text(["Via ", "graphql-sse"]));
    const events = await send(client, { input: { content: "Hello over graphql-sse" } });
    expect(mergedTypes(events)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "TextDelta",
      "MessageCompleted",
    ]);
    expect(textOf(events)).toBe("Via graphql-sse");
    sse.dispose();
  });

  describe.each([
    ["distinct connections", false],
    ["single connection", true],
  ])("graphql-sse client (%s)", (_mode, singleConnection) => {
    it("resumes with messageStream(afterSeq) after the connection drops, without gaps or repeats", async () => {
      await freshUser();
      const proxy = await startProxy(server.url);
      const sse = createSSEClient({
        url: `${proxy.url}/graphql/stream`,
        singleConnection,
        retryAttempts: 0,
        headers: { authorization: `Bearer ${token}` },
      });
      const [three, four] = [deferred(), deferred()];
      fake.script({
        chunks: [
          { content: "a " },
          { content: "b " },
          { content: "c ", gate: three.promise },
          { content: "d", gate: four.promise },
        ],
      });
      const seen: StreamEventFragment[] = [];
      const first = sse.iterate<Stream>({
        query: print(SendMessageDocument),
        variables: { input: { content: "Letters" } },
      });
      let dropped: unknown;
      try {
        for await (const result of first) {
          const event = result.data?.sendMessage;
          if (event) seen.push(event);
          // Cut once "a " and "b " have arrived (as one event or two).
          if (textOf(seen) === "a b ") proxy.cut();
        }
      } catch (error) {
        dropped = error;
      }
      expect(dropped ?? "ended without an error").toBeDefined();
      expect(mergedTypes(seen)).toEqual(["MessageCreated", "MessageCreated", "TextDelta"]);
      const assistant = seen[1];
      if (assistant?.__typename !== "MessageCreated") throw new Error("no assistant message");

      // The reply went on without the client; the same client attaches again after the last seq it saw.
      three.resolve();
      const resumed = sse.iterate<Stream>({
        query: print(MessageStreamDocument),
        variables: { messageId: assistant.message.id, afterSeq: seen.at(-1)?.seq },
      });
      for await (const result of resumed) {
        const event = result.data?.messageStream;
        if (!event) throw new Error(`not an event: ${JSON.stringify(result)}`);
        seen.push(event);
        if (textOf(seen) === "a b c ") four.resolve();
        if (event.__typename === "MessageCompleted") break;
      }
      // Without gaps or repeats: seqs only increase, and the text is exactly the model's.
      expect(increasing(seen.map((e) => e.seq))).toBe(true);
      expect(seen.at(-1)?.seq).toBe(7);
      expect(textOf(seen)).toBe("a b c d");
      expect(seen.at(-1)).toMatchObject({ message: { status: "COMPLETE", content: "a b c d" } });
      sse.dispose();
      await proxy.close();
    });
  });
});
