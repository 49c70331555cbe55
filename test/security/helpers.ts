import type { Db } from "../../src/db/client.js";
import type { TestServer } from "../utils/server.js";

/** The error codes of a GraphQL response, in order. */
export function codes(response: { errors?: { extensions?: { code?: unknown } }[] | null }) {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

/** Rows per table: compared before and after an attack to show that nothing was written. */
export async function rowCounts(prisma: Db) {
  const [conversations, messages, toolCalls, attachments, attachmentLinks, blobs] = await Promise.all([
    prisma.conversation.count(),
    prisma.message.count(),
    prisma.toolCall.count(),
    prisma.attachment.count(),
    prisma.messageAttachment.count(),
    prisma.blob.count(),
  ]);
  return { conversations, messages, toolCalls, attachments, attachmentLinks, blobs };
}

/** A raw HTTP answer: status, headers and the parsed JSON body (or the text when it is not JSON). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  body: {
    data?: unknown;
    errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
  };
  text: string;
}

/**
 * Sends a request to `/graphql` or `/graphql/stream`; for an event stream, the body is the first `next`
 * event's payload (how both SSE forms report a refused operation).
 */
export async function send(
  server: TestServer,
  path: "/graphql" | "/graphql/stream",
  init: { method?: string; headers?: Record<string, string>; body?: BodyInit | null; query?: string },
): Promise<RawAnswer> {
  const url = `${server.url}${path}${init.query ? `?${init.query}` : ""}`;
  const response = await fetch(url, {
    method: init.method ?? "POST",
    headers: init.headers,
    body: init.body ?? null,
    // Node's fetch needs this for streamed request bodies.
    ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const text = await response.text();
  let body: RawAnswer["body"] = {};
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    const data = /event: next\ndata: (.*)\n/.exec(text)?.[1];
    body = data ? JSON.parse(data) : {};
    const payload = (body as { payload?: RawAnswer["body"] }).payload;
    if (payload) body = payload;
  } else {
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
  }
  return { status: response.status, headers: response.headers, body, text };
}

/**
 * JSON POST headers, with a token when given. `/graphql` answers JSON, and an event stream for a
 * subscription that runs (it refuses subscriptions from clients that cannot read one); the graphql-sse
 * endpoint always streams.
 */
export function jsonHeaders(token: string | null, path: "/graphql" | "/graphql/stream" = "/graphql") {
  return {
    "content-type": "application/json",
    accept:
      path === "/graphql"
        ? "application/graphql-response+json, application/json, text/event-stream"
        : "text/event-stream",
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** Posts a GraphQL document to either endpoint as JSON. */
export function postGraphQL(
  server: TestServer,
  path: "/graphql" | "/graphql/stream",
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return send(server, path, {
    headers: jsonHeaders(token, path),
    body: JSON.stringify({ query, variables, ...extra }),
  });
}

/** Both GraphQL endpoints: every attack is tried on each. */
export const endpoints = ["/graphql", "/graphql/stream"] as const;
