import type { Plugin, YogaInitialContext } from "graphql-yoga";
import { isUuid } from "../../core/ids.js";
import { readBodyText } from "../body.js";
import { CSRF_HEADERS, isCsrfSuspect } from "../csrf.js";
import { holdsNul } from "../storable-text.js";
import { InvalidParameterError, restError } from "./errors.js";
import type { ConversationRow, MessageRow, ReplyStream, RestOperations } from "./operations.js";

/** What the REST adapter is given by the composition root. */
export interface RestApiOptions<C> {
  operations: RestOperations<C>;
  maxBodyBytes: number;
  /** The same masking as GraphQL's: logs what is not a client error. */
  maskError: (error: unknown) => Error;
}

const PREFIX = "/api/";
const CSRF_REFUSED = `Request refused (CSRF prevention): send a token, JSON, or one of these headers: ${CSRF_HEADERS.join(", ")}`;
const MAX_PAGE = 100;

type Route<C> = (ctx: C, request: Request, url: URL, id: string | null) => Promise<Response>;

/**
 * The seed's REST API under `/api/`, for frontends written against it (FastAPI + SQLModel shapes: snake_case
 * fields, database UUIDs as ids, `{"detail": ...}` errors with FastAPI's statuses). A thin adapter: each
 * route reads its parameters, makes the context exactly as a GraphQL operation does (authentication, the
 * request rate limit) and calls one domain operation; see README "REST API".
 */
export function useRestApi<C>(options: RestApiOptions<C>): Plugin<YogaInitialContext> {
  const { operations: ops } = options;
  const routes: Record<string, Partial<Record<string, Route<C>>>> = {
    "chat/stream": {
      POST: async (ctx, _request, url) => {
        const message = required(url, "message");
        const conversationId = optionalUuid(url, "conversation_id");
        return eventStream(await ops.sendMessage(ctx, conversationId, message));
      },
    },
    conversations: {
      GET: async (ctx, _request, url) =>
        Response.json((await ops.listConversations(ctx, limit(url, MAX_PAGE))).map(conversationJson)),
      POST: async (ctx, request) => {
        const body = await jsonBody(request, options.maxBodyBytes, false);
        const title = body.title ?? null;
        if (title !== null && typeof title !== "string")
          throw new InvalidParameterError(["body", "title"], "Input should be a valid string");
        return Response.json(conversationJson(await ops.createConversation(ctx, title)));
      },
    },
    "conversations/search": {
      GET: async (ctx, _request, url) => {
        const hits = await ops.searchConversations(ctx, required(url, "query"));
        return Response.json(
          hits.map((hit) => ({
            ...conversationJson(hit.conversation),
            message_id: hit.messageId,
            snippet: hit.snippet,
          })),
        );
      },
    },
    "conversations/{id}": {
      PATCH: async (ctx, request, _url, id) => {
        const { title } = await jsonBody(request, options.maxBodyBytes, true);
        if (typeof title !== "string")
          throw new InvalidParameterError(["body", "title"], "Field required: a string");
        return Response.json(conversationJson(await ops.renameConversation(ctx, id as string, title)));
      },
      DELETE: async (ctx, _request, _url, id) => {
        await ops.deleteConversation(ctx, id as string);
        return new Response(null, { status: 204 });
      },
    },
    "conversations/{id}/messages": {
      GET: async (ctx, _request, url, id) => {
        const page = await ops.listMessages(ctx, id as string, {
          before: optionalUuid(url, "before"),
          limit: limit(url, MAX_PAGE, 50),
        });
        return Response.json({ messages: page.messages.map(messageJson), has_more: page.hasMore });
      },
    },
    "conversations/{id}/stop": {
      POST: async (ctx, _request, _url, id) =>
        Response.json(messageJson(await ops.stopReply(ctx, id as string))),
    },
  };

  let contextOf: (request: Request, serverContext: object) => Promise<C>;
  return {
    onYogaInit({ yoga }) {
      contextOf = (request, serverContext) =>
        // Object.assign, not a spread then `request`: see the same context in graphql-sse.ts.
        yoga.getEnveloped(Object.assign({}, serverContext, { request })).contextFactory() as Promise<C>;
    },
    onRequest({ request, url, endResponse, serverContext }) {
      if (!url.pathname.startsWith(PREFIX)) return;
      const { key, id } = routeOf(url.pathname.slice(PREFIX.length));
      const methods = routes[key];
      const route = methods?.[request.method];
      if (!methods) return endResponse(Response.json({ detail: "Not Found" }, { status: 404 }));
      if (!route) return endResponse(Response.json({ detail: "Method Not Allowed" }, { status: 405 }));
      // A form or a simple fetch of another site would carry the user's ambient identity (development
      // auth); the seed's own clients send a token or JSON, or run on the server's own origin.
      if (isCsrfSuspect(request) && request.headers.get("sec-fetch-site") !== "same-origin")
        return endResponse(Response.json({ detail: CSRF_REFUSED }, { status: 403 }));
      return (async () => {
        try {
          if (id !== null && !isUuid(id))
            throw new InvalidParameterError(["path", "id"], "Input should be a valid UUID");
          const ctx = await contextOf(request, serverContext ?? {});
          endResponse(await route(ctx, request, url, id));
        } catch (error) {
          endResponse(restError(error, options.maskError));
        }
      })();
    },
  };
}

/** `conversations/<uuid>/messages` → the route `conversations/{id}/messages` and the id. */
function routeOf(path: string): { key: string; id: string | null } {
  const parts = path.split("/");
  if (parts[0] !== "conversations" || parts.length < 2 || parts[1] === "search")
    return { key: path, id: null };
  const id = parts[1] ?? null;
  return { key: ["conversations", "{id}", ...parts.slice(2)].join("/"), id };
}

// PostgreSQL cannot store U+0000: text holding it is refused up front, as GraphQL's inputs are.
const NUL_REFUSED = "Text must not contain the NUL character (U+0000)";

function required(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === "") throw new InvalidParameterError(["query", name], "Field required");
  if (value.includes("\0")) throw new InvalidParameterError(["query", name], NUL_REFUSED);
  return value;
}

function optionalUuid(url: URL, name: string): string | null {
  const value = url.searchParams.get(name);
  if (value === null || value === "") return null;
  if (!isUuid(value)) throw new InvalidParameterError(["query", name], "Input should be a valid UUID");
  return value;
}

function limit(url: URL, max: number, fallback = max): number {
  const value = url.searchParams.get("limit");
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidParameterError(["query", "limit"], `Input should be an integer from 1 to ${max}`);
  return n;
}

async function jsonBody(
  request: Request,
  maxBytes: number,
  required: boolean,
): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === "" && !required) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidParameterError(["body"], "JSON decode error");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new InvalidParameterError(["body"], "Input should be a valid dictionary");
  for (const [key, value] of Object.entries(body)) {
    if (holdsNul(key) || holdsNul(value)) throw new InvalidParameterError(["body", key], NUL_REFUSED);
  }
  return body as Record<string, unknown>;
}

function conversationJson(c: ConversationRow) {
  return {
    id: c.id,
    title: c.title,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

function messageJson(m: MessageRow) {
  return {
    id: m.id,
    conversation_id: m.conversationId,
    role: m.role.toLowerCase(),
    content: m.content,
    created_at: m.createdAt.toISOString(),
  };
}

/**
 * The reply as the seed streamed it: `data: <text>` events (a text with line breaks spans several `data:`
 * lines, which the client's SSE parser joins back), then `data: [DONE]`; a failed reply sends
 * `event: error` with its error before `[DONE]`. The conversation and reply ids come as headers, so a client
 * can page or stop it. The client going away ends the stream, not the reply.
 */
function eventStream(reply: ReplyStream): Response {
  const encoder = new TextEncoder();
  const iterator = reply.events[Symbol.asyncIterator]();
  const frame = (data: string, event?: string) =>
    encoder.encode(
      `${event ? `event: ${event}\n` : ""}${data
        .split(/\r\n|\r|\n/)
        .map((line) => `data: ${line}`)
        .join("\n")}\n\n`,
    );
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) return controller.close();
      const event = next.value;
      if ("text" in event) return controller.enqueue(frame(event.text));
      if (event.done.status === "FAILED")
        controller.enqueue(frame(event.done.error ?? "The reply failed", "error"));
      controller.enqueue(frame("[DONE]"));
      controller.close();
      await iterator.return?.();
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "x-conversation-id": reply.conversationId,
      "x-message-id": reply.messageId,
    },
  });
}
