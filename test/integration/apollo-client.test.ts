import { randomUUID } from "node:crypto";
import type { ApolloClient, ObservableQuery, OperationVariables, TypedDocumentNode } from "@apollo/client";
import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyStreamEvent,
  applyViewerEvent,
  dropConversationLists,
  dropMessagePages,
  moveConversationToTop,
  removeConversationFromLists,
} from "../../sdk/apollo.js";
import {
  ArchiveConversationDocument,
  ConversationListDocument,
  ConversationMessagesDocument,
  CreateConversationDocument,
  DeleteConversationDocument,
  MessageStreamDocument,
  PinConversationDocument,
  RegenerateReplyDocument,
  RenameConversationDocument,
  SearchMessagesDocument,
  SendMessageDocument,
  SetConversationTagsDocument,
  type StreamEventFragment,
  SwitchBranchDocument,
  ViewerEventsDocument,
} from "../../sdk/index.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { apolloClient, apolloClientWithSSE, type RecordedExchange } from "../utils/clients.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { increasing, mergedTypes } from "../utils/stream-events.js";

type Stream = {
  sendMessage?: StreamEventFragment;
  messageStream?: StreamEventFragment;
  regenerateReply?: StreamEventFragment;
};

/**
 * Runs a subscription through Apollo Client, applying each event to the cache as an app would, until the
 * stream completes; `onEvent` may end it early by returning true (the client unsubscribes).
 */
function stream<V extends OperationVariables>(
  client: ApolloClient,
  query: TypedDocumentNode<Stream, V>,
  variables: V,
  onEvent: (event: StreamEventFragment) => boolean | undefined = () => undefined,
): Promise<StreamEventFragment[]> {
  return new Promise((resolve, reject) => {
    const events: StreamEventFragment[] = [];
    const subscription = client.subscribe({ query, variables }).subscribe({
      next: ({ data, error }) => {
        if (error) return reject(error);
        const event = data?.sendMessage ?? data?.messageStream ?? data?.regenerateReply;
        if (!event) return reject(new Error(`no event in ${JSON.stringify(data)}`));
        events.push(event);
        applyStreamEvent(client.cache, event);
        if (onEvent(event)) {
          subscription.unsubscribe();
          resolve(events);
        }
      },
      error: reject,
      complete: () => resolve(events),
    });
  });
}

/** The data of a result that is complete (Apollo 4 also reports partial and streaming states). */
function complete<T>(result: ObservableQuery.Result<T>): T | undefined {
  return result.dataState === "complete" ? result.data : undefined;
}

const textOf = (events: StreamEventFragment[]) =>
  events.map((e) => (e.__typename === "TextDelta" ? e.delta : "")).join("");

// The client libraries are what is under test here; the server's behaviour on both databases is covered
// by the other suites, so one database kind (the first selected) keeps CI lean.
const [kind = "pglite"] = testDatabaseKinds();

describe(`Apollo Client against the API (${kind})`, () => {
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

  /** Seeds `count` conversations, the first one the most recently active. */
  async function seedConversations(count: number) {
    const now = Date.now();
    const seeded = [];
    for (let i = 0; i < count; i++) {
      seeded.push(
        await seedConversation(server.db.prisma, user, {
          title: `Conversation ${i + 1}`,
          activityAt: new Date(now - i * 60_000),
        }),
      );
    }
    return seeded;
  }

  /** The viewer's active conversation ids as the server has them. */
  async function serverList() {
    const response = await server.request(ConversationListDocument, { first: 100 }, token);
    return response.data?.conversations.edges.map((e) => e.node.id) ?? [];
  }

  it("normalizes by global id, merges conversation pages and keeps the list right after mutations", async () => {
    await freshUser();
    await seedConversations(5);
    const log: RecordedExchange[] = [];
    const client = apolloClient(server.url, token, log);

    const list = client.watchQuery({ query: ConversationListDocument, variables: { first: 2 } });
    const seen: string[][] = [];
    const watching = list.subscribe((result) => {
      const data = complete(result);
      if (data) seen.push(data.conversations.edges.map((e) => e.node.title));
    });
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    const read = () => client.readQuery({ query: ConversationListDocument, variables: { first: 2 } });
    for (;;) {
      const { pageInfo } = read()?.conversations ?? {};
      if (!pageInfo?.hasNextPage) break;
      await list.fetchMore({ variables: { after: pageInfo.endCursor } });
    }
    const merged = read()?.conversations.edges.map((e) => e.node) ?? [];
    expect(merged.map((c) => c.title)).toEqual([1, 2, 3, 4, 5].map((n) => `Conversation ${n}`));
    expect(new Set(merged.map((c) => c.id)).size).toBe(5);
    expect(merged.map((c) => c.id)).toEqual(await serverList());
    // One normalized object per conversation, keyed by its global id.
    const keys = Object.keys(client.cache.extract() as object).filter((k) => k.startsWith("Conversation:"));
    expect(keys.sort()).toEqual(merged.map((c) => `Conversation:${c.id}`).sort());

    // A rename updates every view through normalization, with no refetch.
    const [first, second, third] = merged;
    if (!first || !second || !third) throw new Error("seeded conversations missing");
    const before = log.length;
    await client.mutate({
      mutation: RenameConversationDocument,
      variables: { id: second.id, title: "Renamed" },
    });
    expect(log.slice(before).map((r) => r.operationName)).toEqual(["RenameConversation"]);
    expect(read()?.conversations.edges[1]?.node.title).toBe("Renamed");
    await expect.poll(() => seen.at(-1)?.[1]).toBe("Renamed");

    // Create, archive and delete update the cached list as the server orders it.
    const created = await client.mutate({
      mutation: CreateConversationDocument,
      variables: { title: "Fresh" },
      update: (cache, { data }) => {
        if (data) moveConversationToTop(cache, data.createConversation.conversation);
      },
    });
    const createdId = created.data?.createConversation.conversation.id;
    await client.mutate({
      mutation: ArchiveConversationDocument,
      variables: { id: third.id },
      update: (cache) => removeConversationFromLists(cache, third.id, "archived"),
    });
    await client.mutate({
      mutation: DeleteConversationDocument,
      variables: { id: first.id },
      update: (cache) => removeConversationFromLists(cache, first.id, "deleted"),
    });
    const updated = read()?.conversations;
    expect(updated?.edges[0]?.node.id).toBe(createdId);
    expect(updated?.edges.map((e) => e.node.id)).toEqual(await serverList());
    expect(updated?.totalCount).toBe(4);
    expect((client.cache.extract() as Record<string, unknown>)[`Conversation:${first.id}`]).toBeUndefined();
    expect(log.filter((r) => r.operationName === "ConversationList")).toHaveLength(3); // the three pages
    watching.unsubscribe();
  });

  it("keeps pinned conversations first: a pin refetches the list, new activity goes below the pins", async () => {
    await freshUser();
    const [, , third] = await seedConversations(3);
    if (!third) throw new Error("seeded conversations missing");
    const client = apolloClient(server.url, token, []);
    const list = client.watchQuery({ query: ConversationListDocument, variables: { first: 10 } });
    const seen: string[][] = [];
    const watching = list.subscribe((result) => {
      const data = complete(result);
      if (data) seen.push(data.conversations.edges.map((e) => e.node.id));
    });
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    const pinnedId = (await serverList())[2] ?? "";
    await client.mutate({
      mutation: PinConversationDocument,
      variables: { id: pinnedId },
      update: (cache) => dropConversationLists(cache),
    });
    await expect.poll(() => seen.at(-1)?.[0]).toBe(pinnedId);
    expect(seen.at(-1)).toEqual(await serverList());

    const created = await client.mutate({
      mutation: CreateConversationDocument,
      variables: { title: "Fresh" },
      update: (cache, { data }) => {
        if (data) moveConversationToTop(cache, data.createConversation.conversation);
      },
    });
    const read = client.readQuery({ query: ConversationListDocument, variables: { first: 10 } });
    const ids = read?.conversations.edges.map((e) => e.node.id);
    expect(ids?.[1]).toBe(created.data?.createConversation.conversation.id);
    expect(ids).toEqual(await serverList());
    watching.unsubscribe();
  });

  it("pages backwards through messages with relayStylePagination, without duplicates", async () => {
    await freshUser();
    const conversation = await seedConversation(server.db.prisma, user, { messages: 23 });
    const id = (await serverList())[0];
    if (!id) throw new Error("no conversation");
    expect(conversation.title).toBe("Seeded");
    const client = apolloClient(server.url, token);
    const history = client.watchQuery({ query: ConversationMessagesDocument, variables: { id, last: 10 } });
    const watching = history.subscribe(() => {});
    const current = () =>
      client.readQuery({ query: ConversationMessagesDocument, variables: { id, last: 10 } })?.conversation
        ?.messages;
    await expect.poll(() => current()?.edges.length).toBe(10);
    let pages = 1;
    for (;;) {
      const { pageInfo } = current() ?? {};
      if (!pageInfo?.hasPreviousPage) break;
      await history.fetchMore({ variables: { before: pageInfo.startCursor } });
      pages += 1;
    }
    expect(pages).toBe(3);
    const messages = current()?.edges.map((e) => e.node) ?? [];
    expect(messages.map((m) => m.position)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(new Set(messages.map((m) => m.id)).size).toBe(23);
    // The watching view got the merged history too.
    const watched = () => complete(history.getCurrentResult())?.conversation?.messages.edges;
    await expect.poll(() => watched()?.map((e) => e.node.position)).toEqual(messages.map((m) => m.position));
    watching.unsubscribe();
  });

  it("pages through search results with relayStylePagination, without duplicates", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 12 });
    const client = apolloClient(server.url, token);
    const variables = { query: "message", first: 5 };
    const results = client.watchQuery({ query: SearchMessagesDocument, variables });
    const watching = results.subscribe(() => {});
    const read = () => client.readQuery({ query: SearchMessagesDocument, variables })?.searchMessages;
    await expect.poll(() => read()?.edges.length).toBe(5);
    while (read()?.pageInfo.hasNextPage) {
      await results.fetchMore({ variables: { after: read()?.pageInfo.endCursor } });
    }
    const ids = read()?.edges.map((e) => e.node.message.id) ?? [];
    expect(new Set(ids).size).toBe(12);
    const all = await server.request(SearchMessagesDocument, { query: "message", first: 100 }, token);
    expect(ids).toEqual(all.data?.searchMessages.edges.map((e) => e.node.message.id));
    expect(read()?.edges[0]?.node.snippet).toContain("<mark>");
    expect(read()?.totalCount).toBe(12);
    watching.unsubscribe();
  });

  it("streams sendMessage over its own HttpLink (multipart) and updates the cached views as it streams", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 2 });
    await seedConversation(server.db.prisma, user, {
      title: "More recent",
      activityAt: new Date(Date.now() + 1000),
    });
    const [newest, id] = await serverList();
    if (!id || !newest) throw new Error("no conversation");
    const log: RecordedExchange[] = [];
    const client = apolloClient(server.url, token, log);
    await client.query({ query: ConversationListDocument, variables: {} });
    await client.query({ query: ConversationMessagesDocument, variables: { id } });

    const gate = deferred();
    fake.script({
      chunks: [{ content: "Hel" }, { content: "lo ", gate: gate.promise }, { content: "there" }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
    const cachedMessages = () =>
      client
        .readQuery({ query: ConversationMessagesDocument, variables: { id } })
        ?.conversation?.messages.edges.map((e) => e.node) ?? [];
    let midStream: { content: string; status: string } | undefined;
    const events = await stream(
      client,
      SendMessageDocument,
      { input: { conversationId: id, content: "Hi" } },
      (e) => {
        if (e.__typename === "TextDelta" && e.delta === "Hel") {
          // The cache already shows the reply in progress, and the conversation at the top.
          midStream = cachedMessages().at(-1);
          gate.resolve();
        }
        return undefined;
      },
    );

    // "lo " and "there" may arrive together, merged into one TextDelta with the later seq.
    expect(increasing(events.map((e) => e.seq))).toBe(true);
    expect(events.at(-1)?.seq).toBe(6);
    expect(events.at(-1)).toMatchObject({ __typename: "MessageCompleted", message: { status: "COMPLETE" } });
    expect(textOf(events)).toBe("Hello there");
    expect(midStream).toMatchObject({ role: "ASSISTANT", content: "Hel", status: "STREAMING" });
    const subscription = log.find((r) => r.operationName === "SendMessage");
    expect(subscription?.accept).toContain("subscriptionSpec=1.0");
    expect(subscription?.contentType).toContain("multipart/mixed");

    const messages = cachedMessages();
    expect(messages.map((m) => [m.position, m.role, m.content, m.status])).toEqual([
      [1, "USER", "message 1", "COMPLETE"],
      [2, "ASSISTANT", "message 2", "COMPLETE"],
      [3, "USER", "Hi", "COMPLETE"],
      [4, "ASSISTANT", "Hello there", "COMPLETE"],
    ]);
    const list = client.readQuery({ query: ConversationListDocument, variables: {} })?.conversations;
    expect(list?.edges.map((e) => e.node.id)).toEqual([id, newest]);
    expect(list?.edges[0]?.node).toMatchObject({ messageCount: 4, lastMessage: { content: "Hello there" } });
    // What the cache rebuilt is what the server now says.
    const fresh = await client.query({
      query: ConversationMessagesDocument,
      variables: { id },
      fetchPolicy: "network-only",
    });
    expect(fresh.data?.conversation?.messages.edges.map((e) => e.node)).toEqual(messages);
  });

  it("drops the cached path after a new version (regenerateReply) and a branch switch", async () => {
    await freshUser();
    await seedConversation(server.db.prisma, user, { messages: 2 });
    const [id] = await serverList();
    if (!id) throw new Error("no conversation");
    const client = apolloClient(server.url, token);
    const watched = client.watchQuery({ query: ConversationMessagesDocument, variables: { id } });
    let shown: (string | number)[][] = [];
    const watching = watched.subscribe((result) => {
      const data = complete(result);
      if (data)
        shown = data.conversation?.messages.edges.map((e) => [e.node.content, e.node.siblingIndex]) ?? [];
    });
    await expect
      .poll(() => shown)
      .toEqual([
        ["message 1", 0],
        ["message 2", 0],
      ]);
    const first = client.readQuery({ query: ConversationMessagesDocument, variables: { id } })?.conversation
      ?.messages.edges[1]?.node.id;

    fake.script(FakeOpenAI.text(["second version"]));
    await stream(client, RegenerateReplyDocument, { input: { messageId: String(first) } });
    await expect
      .poll(() => shown)
      .toEqual([
        ["message 1", 0],
        ["second version", 1],
      ]);

    await client.mutate({
      mutation: SwitchBranchDocument,
      variables: { messageId: String(first) },
      update: (cache) => dropMessagePages(cache, id),
    });
    await expect
      .poll(() => shown)
      .toEqual([
        ["message 1", 0],
        ["message 2", 0],
      ]);
    watching.unsubscribe();
  });

  it("adds a conversation that sendMessage creates to the top of the cached list", async () => {
    await freshUser();
    await seedConversations(2);
    const client = apolloClient(server.url, token);
    await client.query({ query: ConversationListDocument, variables: {} });
    fake.script(FakeOpenAI.text(["Sure."]));
    const events = await stream(client, SendMessageDocument, { input: { content: "Plan a trip to Rome" } });
    const created = events[0];
    if (created?.__typename !== "MessageCreated") throw new Error("no MessageCreated");
    const list = client.readQuery({ query: ConversationListDocument, variables: {} })?.conversations;
    expect(list?.edges[0]?.node).toMatchObject({
      id: created.message.conversation.id,
      title: "Plan a trip to Rome",
      lastMessage: { role: "ASSISTANT", content: "Sure.", status: "COMPLETE" },
    });
    expect(list?.totalCount).toBe(3);
    expect(list?.edges.map((e) => e.node.id)).toEqual(await serverList());
  });

  it("resumes a reply with messageStream(afterSeq) after unsubscribing mid-stream", async () => {
    await freshUser();
    // The reply waits at `three` until the first connection is gone, and at `four` until the second has
    // received `three`: the second connection then gets the exact events it missed, live.
    const [three, four] = [deferred(), deferred()];
    fake.script({
      chunks: [
        { content: "one " },
        { content: "two " },
        { content: "three ", gate: three.promise },
        { content: "four", gate: four.promise },
      ],
    });
    const client = apolloClient(server.url, token);
    let text = "";
    const first = await stream(client, SendMessageDocument, { input: { content: "Count" } }, (e) => {
      if (e.__typename === "TextDelta") text += e.delta;
      return text === "one two "; // "one " and "two " may come as one event
    });
    const assistant = first[1];
    if (assistant?.__typename !== "MessageCreated") throw new Error("no assistant message");
    const lastSeq = first.at(-1)?.seq ?? 0;
    three.resolve();
    const rest = await stream(
      client,
      MessageStreamDocument,
      { messageId: assistant.message.id, afterSeq: lastSeq },
      (e) => {
        if (e.__typename === "TextDelta" && e.delta === "three ") four.resolve();
        return undefined;
      },
    );
    expect(rest.map((e) => e.__typename)).toEqual(["TextDelta", "TextDelta", "MessageCompleted"]);
    expect(rest.map((e) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
    const all = [...first, ...rest];
    expect(increasing(all.map((e) => e.seq))).toBe(true);
    expect(all.at(-1)?.seq).toBe(7);
    expect(textOf(all)).toBe("one two three four");
    expect(rest.at(-1)).toMatchObject({ message: { status: "COMPLETE", content: "one two three four" } });
  });

  it("keeps another tab's list in sync from viewerEvents with applyViewerEvent", async () => {
    await freshUser();
    const [c1, c2, c3] = await seedConversations(3);
    if (!c1 || !c2 || !c3) throw new Error("seeded conversations missing");
    const gid = (id: string) => Buffer.from(`Conversation:${id}`).toString("base64");
    const log: RecordedExchange[] = [];
    const tab = apolloClient(server.url, token, log);
    const list = tab.watchQuery({ query: ConversationListDocument, variables: { first: 10 } });
    let shown: { title: string; id: string; activeReplyId: string | null }[] = [];
    let total = 0;
    const watching = list.subscribe((result) => {
      const data = complete(result);
      if (!data) return;
      shown = data.conversations.edges.map((e) => e.node);
      total = data.conversations.totalCount;
    });
    await expect.poll(() => shown.length).toBe(3);
    // A list narrowed to a tag, shown too: conversations join and leave it as their tags change.
    const tagged = tab.watchQuery({ query: ConversationListDocument, variables: { first: 10, tag: "Work" } });
    let inTag: string[] | undefined;
    const watchingTag = tagged.subscribe((result) => {
      const data = complete(result);
      if (data) inTag = data.conversations.edges.map((e) => e.node.title);
    });
    await expect.poll(() => inTag).toEqual([]);
    const streams = server.runtime.streams.size;
    const events = tab.subscribe({ query: ViewerEventsDocument }).subscribe(({ data }) => {
      if (data) applyViewerEvent(tab.cache, data.viewerEvents);
    });
    await expect.poll(() => server.runtime.streams.size).toBe(streams + 1);
    const titles = () => shown.map((c) => c.title);

    // Another tab (plain requests) makes every kind of change; this tab's list follows.
    const created = await server.request(CreateConversationDocument, { title: "From the other tab" }, token);
    const fresh = created.data?.createConversation.conversation.id as string;
    await expect
      .poll(titles)
      .toEqual(["From the other tab", "Conversation 1", "Conversation 2", "Conversation 3"]);
    expect(total).toBe(4);
    await server.request(RenameConversationDocument, { id: gid(c3.id), title: "Third" }, token);
    await expect.poll(titles).toContain("Third");
    await server.request(PinConversationDocument, { id: gid(c3.id) }, token);
    await expect.poll(titles).toEqual(["Third", "From the other tab", "Conversation 1", "Conversation 2"]);
    await server.request(ArchiveConversationDocument, { id: gid(c1.id) }, token);
    await expect.poll(titles).toEqual(["Third", "From the other tab", "Conversation 2"]);
    expect(total).toBe(3);

    // A reply in the other tab: the conversation moves below the pin and shows its reply running, then not.
    const gate = deferred();
    fake.script({ chunks: [{ content: "hi" }, { content: " there", gate: gate.promise }] });
    const reply = new Promise<string>((resolve, reject) => {
      const other = apolloClient(server.url, token);
      other
        .subscribe({
          query: SendMessageDocument,
          variables: { input: { conversationId: gid(c2.id), content: "x" } },
        })
        .subscribe({
          next: ({ data }) => {
            const event = data?.sendMessage;
            if (event?.__typename === "MessageCreated" && event.message.role === "ASSISTANT")
              resolve(event.message.id);
          },
          error: reject,
        });
    });
    const replyId = await reply;
    await expect.poll(() => shown.find((c) => c.title === "Conversation 2")?.activeReplyId).toBe(replyId);
    expect(titles().slice(0, 2)).toEqual(["Third", "Conversation 2"]);
    gate.resolve();
    await expect.poll(() => shown.find((c) => c.title === "Conversation 2")?.activeReplyId).toBeNull();

    await server.request(SetConversationTagsDocument, { id: gid(c2.id), tags: ["work"] }, token);
    await expect.poll(() => inTag).toEqual(["Conversation 2"]);
    await server.request(SetConversationTagsDocument, { id: gid(c2.id), tags: [] }, token);
    await expect.poll(() => inTag).toEqual([]);

    await server.request(DeleteConversationDocument, { id: fresh }, token);
    await expect.poll(() => shown.map((c) => c.id)).toEqual(await serverList());
    expect(titles()).toEqual(["Third", "Conversation 2"]);
    expect(total).toBe(2);
    // Everything came from the events: each list was fetched once.
    expect(log.filter((r) => r.operationName === "ConversationList")).toHaveLength(2);
    events.unsubscribe();
    watching.unsubscribe();
    watchingTag.unsubscribe();
  });

  it("reports errors with their code through the link", async () => {
    await freshUser();
    const client = apolloClient(server.url, token);
    const error = await stream(client, MessageStreamDocument, { messageId: "TWVzc2FnZTpub3BlOjE=" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions?.code).toMatch(/NOT_FOUND|BAD_USER_INPUT/);
  });

  it("streams a whole reply through an SSE link on /graphql/stream (graphql-sse)", async () => {
    await freshUser();
    const { client, sse } = apolloClientWithSSE(server.url, token);
    fake.script(FakeOpenAI.text(["Over ", "SSE"]));
    const events = await stream(client, SendMessageDocument, { input: { content: "Via SSE" } });
    expect(mergedTypes(events)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "TextDelta",
      "MessageCompleted",
    ]);
    expect(textOf(events)).toBe("Over SSE");
    sse.dispose();
  });
});
