/**
 * urql with Graphcache and the typed SDK: list conversations, send a message and print the reply as it
 * streams (over yoga's SSE with `fetchSubscriptions`), then read the conversation from the cache.
 *
 *   npx tsx examples/typed-clients/urql.ts [http://localhost:4000/graphql] [token]
 */
import { pathToFileURL } from "node:url";
import { Client, fetchExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import {
  ConversationListDocument,
  ConversationMessagesDocument,
  SendMessageDocument,
  type StreamEventFragment,
} from "../../sdk/index.js";
import { graphcacheOptions } from "../../sdk/urql.js";

/** Sends `content` in a new conversation and returns the reply as the cache holds it afterwards. */
export async function chatWithUrql(options: {
  url: string;
  token?: string;
  content: string;
  onText?: (delta: string) => void;
}) {
  const client = new Client({
    url: options.url,
    fetchOptions: {
      headers: {
        // urql sends queries as GETs, which the API's CSRF prevention refuses without a header only a
        // preflighted request can carry; with no token (development auth) nothing else would be sent.
        "x-graphql-yoga-csrf": "urql-example",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    },
    fetchSubscriptions: true,
    exchanges: [cacheExchange(graphcacheOptions()), fetchExchange],
  });

  const list = await client.query(ConversationListDocument, { first: 5 }).toPromise();
  const before = list.data?.conversations.totalCount ?? 0;

  const completed = await new Promise<Extract<StreamEventFragment, { __typename: "MessageCompleted" }>>(
    (resolve, reject) => {
      const { unsubscribe } = client
        .subscription(SendMessageDocument, { input: { content: options.content } })
        .subscribe(({ data, error }) => {
          if (error) return reject(error);
          const event = data?.sendMessage;
          if (event?.__typename === "TextDelta") options.onText?.(event.delta);
          if (event?.__typename === "MessageCompleted") {
            unsubscribe();
            resolve(event);
          }
        });
    },
  );

  // Graphcache put the new conversation at the top of the cached list while the reply streamed.
  const cached = await client
    .query(ConversationListDocument, { first: 5 }, { requestPolicy: "cache-only" })
    .toPromise();
  const conversationId = cached.data?.conversations.edges[0]?.node.id;
  if (!conversationId) throw new Error("the new conversation is not in the list");
  const history = await client.query(ConversationMessagesDocument, { id: conversationId }).toPromise();
  return {
    conversationsBefore: before,
    conversationsAfter: cached.data?.conversations.totalCount,
    conversationId,
    status: completed.message.status,
    reply: completed.message.content,
    cachedMessages:
      history.data?.conversation?.messages.edges.map((e) => `${e.node.role}: ${e.node.content}`) ?? [],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [url = "http://localhost:4000/graphql", token] = process.argv.slice(2);
  const result = await chatWithUrql({
    url,
    token,
    content: "Hello from urql!",
    onText: (delta) => process.stdout.write(delta),
  });
  console.log(`\n\n${JSON.stringify(result, null, 2)}`);
}
