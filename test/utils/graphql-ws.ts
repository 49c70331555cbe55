import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { type ExecutionResult, print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

/** A real graphql-ws client for a test server, with the token in `connectionParams`, never retrying. */
export function wsClient(
  url: string,
  token: string | null,
  options: {
    authorization?: string;
    onClosed?: (event: { code: number; reason: string }) => void;
    /** A WebSocket class of the test's (one that sends an Origin header, as a browser does). */
    webSocketImpl?: unknown;
  } = {},
): Client {
  const authorization = options.authorization ?? (token ? `Bearer ${token}` : undefined);
  return createClient({
    url: `${url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: options.webSocketImpl ?? WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    on: { closed: (event) => options.onClosed?.(event as { code: number; reason: string }) },
  });
}

/**
 * Runs an operation to its end and returns every result it sent. Errors before execution (validation,
 * limits, authentication) come as the protocol's `error` message: returned as one `{ errors }` result. A
 * refused connection rejects with its close event.
 */
export async function wsResults<R, V>(
  client: Client,
  document: TypedDocumentNode<R, V> | string,
  variables?: V,
): Promise<ExecutionResult<R>[]> {
  const query = typeof document === "string" ? document : print(document);
  const results: ExecutionResult<R>[] = [];
  try {
    for await (const result of client.iterate<R>({ query, variables: variables as Record<string, unknown> }))
      results.push(result as ExecutionResult<R>);
  } catch (error) {
    if (!Array.isArray(error)) throw error;
    results.push({ errors: error });
  }
  return results;
}
