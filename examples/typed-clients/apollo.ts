/**
 * Apollo Client with the typed SDK: list conversations, send a message and print the reply as it streams,
 * then read the conversation back. Subscriptions go over Apollo's own HttpLink
 * (the server speaks Apollo's multipart protocol), so no extra link is needed.
 *
 *   npx tsx examples/typed-clients/apollo.ts [http://localhost:4000/graphql] [token]
 */
import { pathToFileURL } from "node:url";
import { ApolloClient, HttpLink } from "@apollo/client";
import { applyStreamEvent, createApolloCache } from "../../sdk/apollo.js";
import {
  ConversationListDocument,
  ConversationMessagesDocument,
  SendMessageDocument,
  type StreamEventFragment,
} from "../../sdk/index.js";

/** Sends `content` in a new conversation and returns the reply as the cache holds it afterwards. */
export async function chatWithApollo(options: {
  url: string;
  token?: string;
  content: string;
  onText?: (delta: string) => void;
}) {
  const client = new ApolloClient({
    link: new HttpLink({
      uri: options.url,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    }),
    cache: createApolloCache(),
  });

  const { data: list } = await client.query({ query: ConversationListDocument, variables: { first: 5 } });
  const before = list?.conversations.totalCount ?? 0;

  // Every event is typed: `event.__typename` narrows to TextDelta, MessageCompleted, ...
  const completed = await new Promise<Extract<StreamEventFragment, { __typename: "MessageCompleted" }>>(
    (resolve, reject) => {
      client
        .subscribe({ query: SendMessageDocument, variables: { input: { content: options.content } } })
        .subscribe({
          next: ({ data, error }) => {
            if (error) return reject(error);
            const event = data?.sendMessage;
            if (!event) return;
            applyStreamEvent(client.cache, event);
            if (event.__typename === "TextDelta") options.onText?.(event.delta);
            if (event.__typename === "MessageCompleted") resolve(event);
          },
          error: reject,
        });
    },
  );

  const conversationId = (await client.query({ query: ConversationListDocument, variables: { first: 5 } }))
    .data?.conversations.edges[0]?.node.id;
  if (!conversationId) throw new Error("the new conversation is not in the list");
  const { data: history } = await client.query({
    query: ConversationMessagesDocument,
    variables: { id: conversationId },
  });
  return {
    conversationsBefore: before,
    conversationId,
    status: completed.message.status,
    reply: completed.message.content,
    cachedMessages:
      history?.conversation?.messages.edges.map((e) => `${e.node.role}: ${e.node.content}`) ?? [],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [url = "http://localhost:4000/graphql", token] = process.argv.slice(2);
  const result = await chatWithApollo({
    url,
    token,
    content: "Hello from Apollo Client!",
    onText: (delta) => process.stdout.write(delta),
  });
  console.log(`\n\n${JSON.stringify(result, null, 2)}`);
}
