import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient } from "graphql-sse";
import type { GraphQLResponse } from "./server.js";

/** One result of a subscription, as both SSE forms deliver it. */
export type StreamResult<R> = Omit<GraphQLResponse<R>, "status">;

/**
 * Subscribes over yoga's own SSE (`Accept: text/event-stream` on /graphql) with plain fetch and yields
 * each `next` event's payload until `complete`. Aborting `signal` drops the connection.
 */
export async function* yogaSSE<R, V>(
  baseUrl: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
  token: string | null,
  signal?: AbortSignal,
  /** Called once the response has begun: the server has subscribed (yoga answers after `subscribe`). */
  onResponse?: () => void,
): AsyncGenerator<StreamResult<R>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
    signal,
  });
  onResponse?.();
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    yield (await response.json()) as StreamResult<R>;
    return;
  }
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no response body");
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let end = buffered.indexOf("\n\n");
      while (end !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf("\n\n");
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (event === "complete") return;
        if (event === "next" && data) yield JSON.parse(data) as StreamResult<R>;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A graphql-sse client for /graphql/stream in distinct-connections or single-connection mode. */
export function sseClient(baseUrl: string, token: string | null, singleConnection: boolean) {
  return createClient({
    url: `${baseUrl}/graphql/stream`,
    singleConnection,
    retryAttempts: 0,
    headers: token ? { authorization: `Bearer ${token}` } : undefined,
  });
}

/** Subscribes through a graphql-sse client and yields each result; breaking out of the loop unsubscribes. */
export function graphqlSSE<R, V>(
  client: ReturnType<typeof createClient>,
  document: TypedDocumentNode<R, V>,
  variables: V,
): AsyncIterable<StreamResult<R>> {
  return client.iterate({
    query: print(document),
    variables: variables as Record<string, unknown>,
  }) as AsyncIterable<StreamResult<R>>;
}

/** Reads a stream to its end (or until `stopAfter` returns true), returning every result. */
export async function collect<T>(stream: AsyncIterable<T>, stopAfter?: (item: T) => boolean): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) {
    items.push(item);
    if (stopAfter?.(item)) break;
  }
  return items;
}
