import { randomUUID } from "node:crypto";
import { ApolloClient } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { subscriptionExchange, Client as UrqlClient } from "@urql/core";
import { print } from "graphql";
import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createApolloCache } from "../../sdk/apollo.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { wsClient, wsResults } from "../utils/graphql-ws.js";
import {
  ConversationQuery,
  CreateConversation,
  MessageStream,
  SendMessage,
  ViewerQuery,
} from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { increasing, mergedTypes, replyText, type StreamEvent } from "../utils/stream-events.js";

// graphql-ws (the graphql-transport-ws protocol) on /graphql, with the real graphql-ws client: the same
// authentication, limits and streams as over HTTP.

const eventsOf = (results: { data?: { sendMessage?: StreamEvent; messageStream?: StreamEvent } | null }[]) =>
  results.map((r) => r.data?.sendMessage ?? r.data?.messageStream).filter((e) => e !== undefined);

describe.each(testDatabaseKinds())("graphql-ws on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  const clients: Client[] = [];

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      FLUSH_INTERVAL_MS: "50",
      RATE_LIMIT_REQUESTS_PER_MINUTE: "20",
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function connect(user = `user-${randomUUID()}`) {
    const client = wsClient(server.url, await tokenFor(user));
    clients.push(client);
    return { client, user };
  }

  it("refuses a connection without a token with 4401 and one with a bad token with 4403", async () => {
    const closes: number[] = [];
    for (const authorization of [
      undefined,
      "Bearer not-a-jwt",
      `Bearer ${await tokenFor("u", { secret: "x".repeat(40) })}`,
    ]) {
      const client = wsClient(server.url, null, { authorization, onClosed: (e) => closes.push(e.code) });
      clients.push(client);
      await expect(wsResults(client, ViewerQuery, {})).rejects.toMatchObject({
        code: authorization ? 4403 : 4401,
      });
    }
    expect(closes).toEqual([4401, 4403, 4403]);
  });

  it("lets a page of another site in only with a token of its own: browsers apply no CORS to WebSockets", async () => {
    // CORS_ORIGINS is `*` here (the development default). A browser sends the page's Origin.
    class FromAnotherSite extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { origin: "https://elsewhere.example" } });
      }
    }
    const closes: number[] = [];
    const tokenless = wsClient(server.url, null, {
      webSocketImpl: FromAnotherSite,
      onClosed: (e) => closes.push(e.code),
    });
    clients.push(tokenless);
    await expect(wsResults(tokenless, ViewerQuery, {})).rejects.toMatchObject({ code: 4403 });
    expect(closes).toEqual([4403]);

    const user = `user-${randomUUID()}`;
    const withToken = wsClient(server.url, await tokenFor(user), { webSocketImpl: FromAnotherSite });
    clients.push(withToken);
    const [result] = await wsResults(withToken, ViewerQuery, {});
    expect(result?.data?.viewer?.id).toBe(user);
  });

  it("refuses text holding U+0000 with BAD_USER_INPUT, writing nothing", async () => {
    const { client, user } = await connect();
    const [result] = await wsResults(client, CreateConversation, { title: "a\u0000b" });
    expect(result?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await server.db.prisma.conversation.count({ where: { ownerId: user } })).toBe(0);
  });

  it("answers queries and mutations as the token's user", async () => {
    const { client, user } = await connect();

    const [viewer] = await wsResults(client, ViewerQuery, {});
    expect(viewer?.data?.viewer).toMatchObject({ id: user, conversationCount: 0 });
    const [created] = await wsResults(client, CreateConversation, { title: "Over a socket" });
    expect(created?.errors).toBeUndefined();
    const conversation = created?.data?.createConversation.conversation;
    expect(conversation?.title).toBe("Over a socket");
    const [read] = await wsResults(client, ConversationQuery, { id: conversation?.id ?? "" });
    expect(read?.data?.conversation?.title).toBe("Over a socket");
  });

  it("streams a reply exactly with sendMessage, then messageStream answers MessageCompleted at once", async () => {
    const { client } = await connect();
    fake.script(FakeOpenAI.text(["Hel", "lo ", "over ", "ws"]));

    const events = eventsOf(await wsResults(client, SendMessage, { input: { content: "hi" } }));

    expect(mergedTypes(events)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "TextDelta",
      "MessageCompleted",
    ]);
    // Chunks that arrive together may come merged (seq skips); the last event's seq counts them all.
    const seqs = events.map((e) => e.seq);
    expect(increasing(seqs)).toBe(true);
    expect(seqs.at(-1)).toBe((seqs[0] ?? 0) + 6);
    expect(replyText(events)).toBe("Hello over ws");
    const completed = events.at(-1);
    if (completed?.__typename !== "MessageCompleted") throw new Error("no MessageCompleted");
    expect(completed.message).toMatchObject({ status: "COMPLETE", content: "Hello over ws" });

    const again = eventsOf(await wsResults(client, MessageStream, { messageId: completed.message.id }));
    expect(again.map((e) => e.__typename)).toEqual(["MessageCompleted"]);
  });

  it("stops streaming when the client completes the subscription, while the reply goes on and is saved", async () => {
    const { client } = await connect();
    const gate = deferred();
    fake.script({ chunks: [{ content: "first " }, { content: "second", gate: gate.promise }] });

    const seen: StreamEvent[] = [];
    const firstDelta = deferred();
    const unsubscribe = client.subscribe<{ sendMessage: StreamEvent }>(
      { query: print(SendMessage), variables: { input: { content: "go" } } },
      {
        next: (result) => {
          if (result.data) seen.push(result.data.sendMessage);
          if (result.data?.sendMessage.__typename === "TextDelta") firstDelta.resolve();
        },
        error: () => {},
        complete: () => {},
      },
    );
    await firstDelta.promise;
    unsubscribe();
    const assistant = seen.find((e) => e.__typename === "MessageCreated" && e.message.role === "ASSISTANT");
    if (assistant?.__typename !== "MessageCreated") throw new Error("no assistant message");
    gate.resolve();

    const resumed = eventsOf(await wsResults(client, MessageStream, { messageId: assistant.message.id }));
    const last = resumed.at(-1);
    expect(last?.__typename).toBe("MessageCompleted");
    if (last?.__typename === "MessageCompleted") expect(last.message.content).toBe("first second");
    expect(seen.some((e) => e.__typename === "MessageCompleted")).toBe(false);
  });

  it("applies the document limits and the request rate limit per operation", async () => {
    const { client } = await connect();
    const [deep] = await wsResults(
      client,
      "query { conversations(first: 100) { edges { node { messages(first: 100) { edges { node { content } } } } } } }",
    );
    expect(deep?.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);

    const codes: unknown[] = [];
    for (let i = 0; i < 25; i++) {
      const [result] = await wsResults(client, ViewerQuery, {});
      codes.push(result?.errors?.[0]?.extensions?.code ?? "ok");
    }
    expect(codes).toContain("RATE_LIMITED");
    const limited = codes.slice(codes.indexOf("RATE_LIMITED"));
    expect(limited).toEqual(limited.map(() => "RATE_LIMITED"));
  });
});

describe("graphql-ws at shutdown", () => {
  let server: TestServer;
  // The server starts in the hook (a fresh database's migrations take long on a busy machine).
  beforeAll(async () => {
    const [kind = "pglite"] = testDatabaseKinds();
    server = await startTestServer(kind);
  });

  it("closes open sockets with 1001 (going away)", async () => {
    const closed = deferred<number>();
    const client = wsClient(server.url, await tokenFor("leaving"), {
      onClosed: (e) => closed.resolve(e.code),
    });
    try {
      await wsResults(client, ViewerQuery, {});
      await server.close();
      expect(await closed.promise).toBe(1001);
    } finally {
      await client.dispose();
    }
  });
});

describe("Apollo's GraphQLWsLink and urql over graphql-ws", () => {
  const [kind = "pglite"] = testDatabaseKinds();
  let server: TestServer;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, FLUSH_INTERVAL_MS: "50" });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  /** Collects a subscription's events until MessageCompleted, from any client's observable. */
  function completed(
    observable: { subscribe(observer: (value: { data?: unknown }) => void): { unsubscribe(): void } },
    field: "sendMessage" | "messageStream",
  ) {
    return new Promise<StreamEvent[]>((resolve) => {
      const events: StreamEvent[] = [];
      const subscription = observable.subscribe((value) => {
        const event = (value.data as Record<string, StreamEvent> | undefined)?.[field];
        if (!event) return;
        events.push(event);
        if (event.__typename === "MessageCompleted") {
          setImmediate(() => subscription.unsubscribe());
          resolve(events);
        }
      });
    });
  }

  it("Apollo Client: a query, a mutation and both subscriptions", async () => {
    const ws = wsClient(server.url, await tokenFor("apollo-ws"));
    const client = new ApolloClient({ link: new GraphQLWsLink(ws), cache: createApolloCache() });
    try {
      const viewer = await client.query({ query: ViewerQuery, variables: {} });
      expect(viewer.data?.viewer.id).toBe("apollo-ws");
      const created = await client.mutate({ mutation: CreateConversation, variables: { title: "Apollo" } });
      expect(created.data?.createConversation.conversation).toBeTruthy();
      fake.script(FakeOpenAI.text(["via ", "Apollo"]));
      const sent = await completed(
        {
          subscribe: (next) =>
            client.subscribe({ query: SendMessage, variables: { input: { content: "hi" } } }).subscribe(next),
        },
        "sendMessage",
      );
      expect(replyText(sent)).toBe("via Apollo");
      const last = sent.at(-1);
      if (last?.__typename !== "MessageCompleted") throw new Error("no MessageCompleted");
      const resumed = await completed(
        {
          subscribe: (next) =>
            client
              .subscribe({ query: MessageStream, variables: { messageId: last.message.id } })
              .subscribe(next),
        },
        "messageStream",
      );
      expect(resumed.map((e) => e.__typename)).toEqual(["MessageCompleted"]);
    } finally {
      client.stop();
      await ws.dispose();
    }
  });

  it("urql: a query, a mutation and both subscriptions through subscriptionExchange", async () => {
    const ws = wsClient(server.url, await tokenFor("urql-ws"));
    const client = new UrqlClient({
      url: `${server.url}/graphql`,
      exchanges: [
        subscriptionExchange({
          enableAllOperations: true,
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink),
            }),
          }),
        }),
      ],
    });
    try {
      const viewer = await client.query(ViewerQuery, {}).toPromise();
      expect(viewer.data?.viewer.id).toBe("urql-ws");
      const created = await client.mutation(CreateConversation, { title: "urql" }).toPromise();
      expect(created.error).toBeUndefined();
      fake.script(FakeOpenAI.text(["via ", "urql"]));
      const sent = await completed(
        {
          subscribe: (next) => client.subscription(SendMessage, { input: { content: "hi" } }).subscribe(next),
        },
        "sendMessage",
      );
      expect(replyText(sent)).toBe("via urql");
      const last = sent.at(-1);
      if (last?.__typename !== "MessageCompleted") throw new Error("no MessageCompleted");
      const resumed = await completed(
        {
          subscribe: (next) =>
            client.subscription(MessageStream, { messageId: last.message.id }).subscribe(next),
        },
        "messageStream",
      );
      expect(resumed.map((e) => e.__typename)).toEqual(["MessageCompleted"]);
    } finally {
      await ws.dispose();
    }
  });
});
