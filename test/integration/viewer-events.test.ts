import { randomUUID } from "node:crypto";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { wsClient } from "../utils/graphql-ws.js";
import {
  ArchiveConversation,
  CreateConversation,
  DeleteConversation,
  ForkConversation,
  RenameConversation,
  SendMessage,
  StopGeneration,
  SwitchBranch,
} from "../utils/operations.js";
import { PinConversation, SetConversationTags } from "../utils/organise-operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, graphqlSSE, sseClient, yogaSSE } from "../utils/sse.js";
import { waitFor } from "../utils/stream-events.js";
import {
  readViewerEvents,
  type ViewerEvent,
  ViewerEvents,
  type ViewerEventsReader,
} from "../utils/viewer-event-operations.js";

// `viewerEvents` on one instance: every tab of a user hears every change to their conversations (made in
// any tab), another user hears none of them, over yoga's SSE, graphql-sse and graphql-ws alike.

const typenames = (events: ViewerEvent[]) => events.map((e) => e.__typename);

describe.each(testDatabaseKinds())("viewerEvents on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    // The shortest idle timeout: viewerEvents must outlive it (quiet is its normal state).
    server = await startTestServer(kind, { ...fake.serverEnv, STREAM_IDLE_TIMEOUT_MS: "1000" });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  /** A subscriber through a protocol client, read in the background; resolves once the server holds it. */
  async function clientReader(
    subscribe: () => AsyncIterable<{ data?: { viewerEvents: ViewerEvent } | null }>,
    dispose: () => unknown,
  ): Promise<ViewerEventsReader> {
    const before = server.runtime.streams.size;
    const seen: ViewerEvent[] = [];
    const done = (async () => {
      for await (const result of subscribe())
        if (result.data?.viewerEvents) seen.push(result.data.viewerEvents);
    })().catch(() => {});
    await waitFor(() => server.runtime.streams.size > before, 10_000, "the subscription");
    return { seen, failures: [], done, close: () => void dispose() };
  }

  function graphqlSSEReader(token: string) {
    const client = sseClient(server.url, token, false);
    return clientReader(
      () => graphqlSSE(client, ViewerEvents, {}),
      () => client.dispose(),
    );
  }

  function graphqlWSReader(token: string) {
    const client = wsClient(server.url, token);
    return clientReader(
      () => client.iterate<{ viewerEvents: ViewerEvent }>({ query: print(ViewerEvents) }),
      () => client.dispose(),
    );
  }

  it("tells every subscriber of the user each change, in order, and another user nothing", async () => {
    const alice = await tokenFor(`alice-${randomUUID()}`);
    const bob = await tokenFor(`bob-${randomUUID()}`);
    const tabs = [
      await readViewerEvents(server.url, alice),
      await graphqlSSEReader(alice),
      await graphqlWSReader(alice),
    ];
    const other = await readViewerEvents(server.url, bob);
    try {
      // Each event is awaited before the next change: a conversation is read when its event is delivered.
      const step = async (change: () => Promise<unknown>) => {
        const count = tabs[0]?.seen.length ?? 0;
        await change();
        for (const tab of tabs)
          await waitFor(() => tab.seen.length > count, 10_000, `event ${count + 1} in each tab`);
      };
      let id = "";
      await step(async () => {
        const created = await server.request(CreateConversation, { title: "first" }, alice);
        id = created.data?.createConversation.conversation.id as string;
      });
      await step(() => server.request(RenameConversation, { id, title: "renamed" }, alice));
      await step(() => server.request(PinConversation, { id }, alice));
      await step(() => server.request(SetConversationTags, { id, tags: ["Work", "urgent"] }, alice));
      await step(() => server.request(ArchiveConversation, { id }, alice));
      await step(() => server.request(DeleteConversation, { id }, alice));
      for (const tab of tabs) {
        expect(tab.seen).toEqual([
          { __typename: "ConversationCreated", conversation: { id, title: "first", activeReplyId: null } },
          expect.objectContaining({
            conversation: expect.objectContaining({ title: "renamed", pinnedAt: null }),
          }),
          expect.objectContaining({
            conversation: expect.objectContaining({ pinnedAt: expect.any(String), tags: [] }),
          }),
          expect.objectContaining({ conversation: expect.objectContaining({ tags: ["work", "urgent"] }) }),
          expect.objectContaining({
            conversation: expect.objectContaining({ archivedAt: expect.any(String) }),
          }),
          { __typename: "ConversationDeleted", conversationId: id },
        ]);
        expect(typenames(tab.seen).slice(1, 5)).toEqual(Array(4).fill("ConversationUpdated"));
      }
      // Bob hears his own change, and only it: Alice's went to her channel alone.
      await server.request(CreateConversation, { title: "bob's" }, bob);
      await waitFor(() => other.seen.length >= 1, 10_000, "bob's own event");
      expect(other.seen).toEqual([
        { __typename: "ConversationCreated", conversation: expect.objectContaining({ title: "bob's" }) },
      ]);
      expect(other.failures).toEqual([]);
      for (const tab of tabs) expect(tab.seen).toHaveLength(6);
    } finally {
      for (const reader of [...tabs, other]) reader.close();
    }
  });

  it("tells of a send: the conversation, the reply starting with its ids, and its end", async () => {
    const token = await tokenFor(`sender-${randomUUID()}`);
    const tab = await readViewerEvents(server.url, token);
    const gate = deferred();
    fake.script({ chunks: [{ content: "hel" }, { content: "lo", gate: gate.promise }] });
    try {
      const sending = collect(yogaSSE(server.url, SendMessage, { input: { content: "hi" } }, token));
      await waitFor(() => tab.seen.length >= 2, 10_000, "the conversation and the reply starting");
      const [created, started] = tab.seen;
      if (created?.__typename !== "ConversationCreated" || started?.__typename !== "ReplyStarted")
        throw new Error(`unexpected events ${JSON.stringify(tab.seen)}`);
      expect(started.conversationId).toBe(created.conversation?.id);
      // The reply runs: the conversation names it, to attach with messageStream.
      expect(created.conversation?.activeReplyId).toBe(started.messageId);
      gate.resolve();
      const results = await sending;
      const messages = results.flatMap((r) =>
        r.data?.sendMessage.__typename === "MessageCreated" ? [r.data.sendMessage.message] : [],
      );
      expect(started.userMessageId).toBe(messages[0]?.id);
      expect(started.messageId).toBe(messages[1]?.id);
      await waitFor(() => tab.seen.length >= 3, 10_000, "the reply finishing");
      expect(tab.seen[2]).toEqual({
        __typename: "ReplyFinished",
        conversationId: started.conversationId,
        messageId: started.messageId,
        status: "COMPLETE",
      });

      // A second message into the same conversation moves it (Updated), then runs a reply.
      fake.script(FakeOpenAI.text(["again"]));
      const conversationId = started.conversationId;
      await collect(yogaSSE(server.url, SendMessage, { input: { content: "more", conversationId } }, token));
      await waitFor(() => tab.seen.length >= 6, 10_000, "the second exchange");
      expect(typenames(tab.seen.slice(3))).toEqual(["ConversationUpdated", "ReplyStarted", "ReplyFinished"]);

      // Branches: another version made active, and a fork, are told too.
      const firstUser = started.userMessageId as string;
      await server.request(SwitchBranch, { messageId: firstUser }, token);
      const fork = await server.request(ForkConversation, { messageId: firstUser, title: "fork" }, token);
      await waitFor(() => tab.seen.length >= 8, 10_000, "the branch events");
      expect(tab.seen[6]).toMatchObject({
        __typename: "ConversationUpdated",
        conversation: { id: conversationId },
      });
      expect(tab.seen[7]).toMatchObject({
        __typename: "ConversationCreated",
        conversation: { id: fork.data?.forkConversation.conversation.id, title: "fork" },
      });
    } finally {
      gate.resolve();
      tab.close();
    }
  });

  it("tells of a queued message's reply when its turn comes, and of a stopped reply", async () => {
    const token = await tokenFor(`queue-${randomUUID()}`);
    const tab = await readViewerEvents(server.url, token);
    const gate = deferred();
    fake.script(
      { chunks: [{ content: "first" }, { content: " answer", gate: gate.promise }] },
      { chunks: [{ content: "second" }, { content: " never", gate: new Promise(() => {}) }] },
    );
    try {
      const first = collect(yogaSSE(server.url, SendMessage, { input: { content: "one" } }, token));
      await waitFor(() => tab.seen.length >= 2, 10_000, "the first reply starting");
      const conversationId = (tab.seen[1] as Extract<ViewerEvent, { __typename: "ReplyStarted" }>)
        .conversationId;
      const queued = collect(
        yogaSSE(
          server.url,
          SendMessage,
          { input: { content: "two", conversationId, onBusy: "ENQUEUE" } },
          token,
        ),
        (r) => r.data?.sendMessage.__typename === "TextDelta",
      );
      await waitFor(() => tab.seen.length >= 3, 10_000, "the queued message");
      gate.resolve();
      await first;
      await queued;
      await waitFor(() => tab.seen.length >= 5, 10_000, "the queued reply starting");
      expect(typenames(tab.seen)).toEqual([
        "ConversationCreated",
        "ReplyStarted",
        "ConversationUpdated",
        "ReplyFinished",
        "ReplyStarted",
      ]);
      const second = tab.seen[4] as Extract<ViewerEvent, { __typename: "ReplyStarted" }>;
      expect(second.conversationId).toBe(conversationId);
      // The queued reply, still running: stopped from anywhere, every tab hears it ended CANCELLED.
      await server.request(StopGeneration, { messageId: second.messageId }, token);
      await waitFor(() => tab.seen.length >= 6, 10_000, "the stop");
      expect(tab.seen[5]).toEqual({
        __typename: "ReplyFinished",
        conversationId,
        messageId: second.messageId,
        status: "CANCELLED",
      });
    } finally {
      gate.resolve();
      tab.close();
    }
  });

  it("stays open while quiet past the idle timeout, and frees its stream slot when the client leaves", async () => {
    const token = await tokenFor(`quiet-${randomUUID()}`);
    await waitFor(() => server.runtime.streams.size === 0, 10_000, "the earlier tests' streams closed");
    const tab = await readViewerEvents(server.url, token);
    try {
      expect(server.runtime.streams.size).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await server.request(CreateConversation, { title: "later" }, token);
      await waitFor(() => tab.seen.length >= 1, 10_000, "an event after a quiet while");
    } finally {
      tab.close();
    }
    await waitFor(() => server.runtime.streams.size === 0, 10_000, "the slot released");
  });

  it("reads an event's conversation once for all the user's tabs on the instance", async () => {
    const token = await tokenFor(`many-${randomUUID()}`);
    const created = await server.request(CreateConversation, { title: "shared" }, token);
    const id = created.data?.createConversation.conversation.id as string;
    /** The statements a rename and its delivery to `tabs` subscribers take. */
    const statementsFor = async (tabs: number, title: string) => {
      const readers: ViewerEventsReader[] = [];
      for (let i = 0; i < tabs; i++) readers.push(await readViewerEvents(server.url, token));
      const statements: string[] = [];
      const listener = (e: { query: string }) => statements.push(e.query);
      onQuery(server.db.prisma, listener);
      await server.request(RenameConversation, { id, title }, token);
      await waitFor(() => readers.every((r) => r.seen.length === 1), 10_000, "every tab told");
      for (const reader of readers) reader.close();
      // The approval sweep (see conversations.test.ts) may fall inside the window: not part of it.
      return statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q) && !/"ToolCall"/.test(q)).length;
    };
    const one = await statementsFor(1, "one tab");
    expect(await statementsFor(5, "five tabs")).toBe(one);
  });

  it("refuses an anonymous subscriber", async () => {
    const [result] = await collect(yogaSSE(server.url, ViewerEvents, {}, null));
    expect(result?.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
