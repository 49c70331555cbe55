import { ApolloClient, ApolloLink, HttpLink, Observable } from "@apollo/client";
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { print } from "graphql";
import { createClient as createSSEClient } from "graphql-sse";
import { createApolloCache } from "../../sdk/apollo.js";
import { graphcacheOptions } from "../../sdk/urql.js";

/** What a client sent and got back, recorded by {@link recordingFetch}. */
export interface RecordedExchange {
  operationName: string | undefined;
  accept: string | null;
  status: number;
  contentType: string | null;
}

/** A fetch that records every GraphQL request (operation name, Accept) and its response type. */
export function recordingFetch(log: RecordedExchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { operationName?: string }) : {};
    log.push({
      operationName: body.operationName,
      accept: new Headers(init?.headers).get("accept"),
      status: response.status,
      contentType: response.headers.get("content-type"),
    });
    return response;
  };
}

/**
 * Apollo Client as a frontend sets it up: the default HttpLink for everything (subscriptions use Apollo's
 * multipart protocol) and the SDK's cache.
 */
export function apolloClient(baseUrl: string, token: string, log: RecordedExchange[] = []) {
  return new ApolloClient({
    link: new HttpLink({
      uri: `${baseUrl}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      fetch: recordingFetch(log),
    }),
    cache: createApolloCache(),
  });
}

/** An Apollo link that runs operations through a graphql-sse client (the README's SSE route). */
export class SSELink extends ApolloLink {
  constructor(private readonly client: ReturnType<typeof createSSEClient>) {
    super();
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((observer) =>
      this.client.subscribe<Record<string, unknown>, Record<string, unknown>>(
        {
          query: print(operation.query),
          variables: operation.variables,
          operationName: operation.operationName,
          extensions: operation.extensions,
        },
        {
          next: (value) => observer.next(value as ApolloLink.Result),
          complete: () => observer.complete(),
          error: (error) => observer.error(error),
        },
      ),
    );
  }
}

/** Apollo Client with subscriptions over graphql-sse (`/graphql/stream`) and the rest over HttpLink. */
export function apolloClientWithSSE(baseUrl: string, token: string) {
  const sse = createSSEClient({
    url: `${baseUrl}/graphql/stream`,
    headers: { authorization: `Bearer ${token}` },
  });
  const http = new HttpLink({ uri: `${baseUrl}/graphql`, headers: { authorization: `Bearer ${token}` } });
  const link = ApolloLink.split(
    ({ operationType }) => operationType === "subscription",
    new SSELink(sse),
    http,
  );
  return { client: new ApolloClient({ link, cache: createApolloCache() }), sse };
}

/** urql with Graphcache (the SDK's options) and subscriptions over yoga's SSE via `fetchSubscriptions`. */
export function urqlClient(baseUrl: string, token: string, log: RecordedExchange[] = []) {
  return new Client({
    url: `${baseUrl}/graphql`,
    fetch: recordingFetch(log),
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    fetchSubscriptions: true,
    exchanges: [cacheExchange(graphcacheOptions()), fetchExchange],
  });
}

/** urql with Graphcache and subscriptions through a graphql-sse client's `subscriptionExchange`. */
export function urqlClientWithSSE(baseUrl: string, token: string) {
  const sse = createSSEClient({
    url: `${baseUrl}/graphql/stream`,
    headers: { authorization: `Bearer ${token}` },
  });
  const client = new Client({
    url: `${baseUrl}/graphql`,
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    exchanges: [
      cacheExchange(graphcacheOptions()),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return { subscribe: (sink) => ({ unsubscribe: sse.subscribe(input, sink) }) };
        },
      }),
    ],
  });
  return { client, sse };
}
