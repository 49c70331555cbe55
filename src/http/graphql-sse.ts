import { Readable } from "node:stream";
import { type ExecutionResult, GraphQLError, getOperationAST } from "graphql";
import { createHandler, type RequestParams, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from "graphql-sse";
import type { Plugin, YogaInitialContext } from "graphql-yoga";
import { ClientError } from "../core/errors.js";
import { checkQueryString, nodeRequestOf, nodeResponseOf, readBodyText } from "./body.js";
import { eventStreamBody } from "./event-stream-body.js";
import type { PersistedOperations } from "./persisted-operations.js";
import { errorResponse } from "./responses.js";

/** What the graphql-sse endpoint must apply exactly as `/graphql` does. */
export interface GraphQLSSEGuards {
  endpoint: string;
  maxBodyBytes: number;
  persisted: PersistedOperations | null;
  /** The same masking as yoga's (client errors kept, everything else `INTERNAL`). */
  maskError: (error: unknown) => Error;
}

/**
 * The full graphql-sse protocol (distinct connections and single connection) on `endpoint`, guarded like
 * `/graphql`. It replaces `@graphql-yoga/plugin-graphql-sse`, which answers from `onRequest`, so yoga's
 * request parsing and `onParams` never run there: this version of it reads bodies strictly with the same size limit, applies
 * the persisted-operation rules, and reports parse, validation, authentication and rate-limit failures as
 * GraphQL errors with the contract's codes (the plugin let them escape as a 500 with a stack trace, or a
 * 400 "Unable to detect operation AST"). CSRF prevention is `useCsrfPrevention`, also in `onRequest`;
 * operation limits are envelop plugins and run in `enveloped.parse`/`validate` below.
 */
export function useGuardedGraphQLSSE(guards: GraphQLSSEGuards): Plugin<YogaInitialContext> {
  let handler: (request: ReadRequest) => Promise<Response>;
  const masked = (error: unknown) => guards.maskError(error) as GraphQLError;
  const failure = (error: unknown): ExecutionResult => ({ data: null, errors: [masked(error)] });
  return {
    onYogaInit({ yoga }) {
      const operate = async (
        request: ReadRequest,
        params: RequestParams,
      ): Promise<ExecutionResult | AsyncIterable<ExecutionResult>> => {
        const { original, serverContext } = request;
        try {
          const query = guards.persisted ? guards.persisted.resolve(params) : params.query;
          // Not `{ ...serverContext, request, params }`: V8 (Node 20) gives each object made by a spread and
          // then new properties a hidden class of its own, and every context built on it one more.
          const context = Object.assign({}, serverContext, { request: original, params });
          const enveloped = yoga.getEnveloped(context);
          const document = enveloped.parse(query);
          const errors: readonly GraphQLError[] = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return { data: null, errors: errors.map(masked) };
          const operation = getOperationAST(document, params.operationName);
          if (!operation) {
            throw new GraphQLError("Could not determine which operation to run", {
              extensions: { code: "BAD_USER_INPUT" },
            });
          }
          if (operation.operation === "mutation" && request.method === "GET") {
            throw new GraphQLError("Mutations cannot be sent with GET", {
              extensions: { code: "BAD_USER_INPUT" },
            });
          }
          const contextValue = await enveloped.contextFactory();
          const args = {
            schema: enveloped.schema,
            document,
            contextValue,
            variableValues: params.variables,
            operationName: params.operationName,
          };
          const run = operation.operation === "subscription" ? enveloped.subscribe : enveloped.execute;
          const result = (await run(args)) as ExecutionResult | AsyncIterable<ExecutionResult>;
          // A subscription that fails to start answers `{ errors }` without `data`, which graphql-sse
          // would not recognise as a result.
          return Symbol.asyncIterator in result ? result : { data: null, ...result };
        } catch (error) {
          return failure(error);
        }
      };
      const handle = createHandler<ReadRequest>({
        // yoga leaves `extensions.http` out of its responses; results sent here must not carry it either.
        onNext: (_ctx, _req, result) => withoutHttpExtensions(result),
        onSubscribe: (req, params) => operate(req.raw, params),
      });
      // An operation with a stream of its own is answered here (see eventStreamBody), everything else by
      // graphql-sse. Its own fetch adapter turns each message into bytes and hands it on through a web
      // ReadableStream pulled by yoga's server adapter: per event a TextEncoder copy, a pull and several
      // promises (a tenth of everything allocated while streaming, by a sampling heap profile). A node
      // Readable body is piped to the socket by the adapter as it is.
      handler = async (request) => {
        const params = await distinctParams(request);
        if (params) {
          const body = eventStreamBody(
            await operate(request, params),
            withoutHttpExtensions,
            nodeResponseOf(request.serverContext),
          );
          return new yoga.fetchAPI.Response(body as unknown as ReadableStream, {
            status: 200,
            headers: EVENT_STREAM_HEADERS,
          });
        }
        const [body, init] = await handle({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: () => request.text(),
          raw: request,
          context: undefined,
        });
        if (body === null || typeof body === "string") return new yoga.fetchAPI.Response(body, init);
        const stream = Readable.from(body, { objectMode: false });
        return new yoga.fetchAPI.Response(stream as unknown as ReadableStream, init);
      };
    },
    onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname !== guards.endpoint) return;
      return (async () => {
        let href = request.url;
        let body = "";
        try {
          if (request.method === "GET") {
            checkQueryString(url);
            const resolved = persistedGetUrl(url, guards.persisted);
            if (resolved) href = resolved.toString();
          }
          if (request.body)
            body = persistedBody(
              await readBodyText(request, guards.maxBodyBytes, nodeRequestOf(serverContext)),
              guards.persisted,
            );
        } catch (error) {
          if (error instanceof ClientError) return endResponse(errorResponse(error));
          throw error;
        }
        endResponse(await handler(new ReadRequest(request, href, body, serverContext ?? {})));
      })();
    },
  };
}

/** graphql-sse's headers for an event stream. */
const EVENT_STREAM_HEADERS = {
  connection: "keep-alive",
  "cache-control": "no-cache",
  "content-encoding": "none",
  "content-type": "text/event-stream; charset=utf-8",
};

/**
 * The parameters of a well-formed operation for a stream of its own (graphql-sse's "distinct connections"
 * mode: a JSON POST asking for `text/event-stream`, with no stream token), which is answered here with
 * {@link eventStreamBody}; null for everything else (the single-connection mode, other methods, malformed
 * parameters), which graphql-sse's handler answers with its own statuses and messages.
 */
async function distinctParams(request: ReadRequest): Promise<RequestParams | null> {
  if (request.method !== "POST" || request.headers.get("accept") !== "text/event-stream") return null;
  if (!request.headers.get("content-type")?.includes("application/json")) return null;
  if (request.headers.get(TOKEN_HEADER_KEY) || new URL(request.url).searchParams.get(TOKEN_QUERY_KEY))
    return null;
  let data: unknown;
  try {
    data = JSON.parse(await request.text());
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const { query, operationName, variables, extensions } = data as Record<string, unknown>;
  const isMap = (value: unknown) => value == null || (typeof value === "object" && !Array.isArray(value));
  if (typeof query !== "string" || !isMap(variables) || !isMap(extensions)) return null;
  return {
    query,
    operationName: operationName as RequestParams["operationName"],
    variables: variables as RequestParams["variables"],
    extensions: extensions as RequestParams["extensions"],
  };
}

/**
 * The request as graphql-sse reads it (method, URL, headers and `text()`, nothing else), with the body
 * already read and checked, and what `onSubscribe` hands yoga: the original request and the server context.
 * A second `Request` carrying the body would be held, with its own body state, for as long as the stream is
 * open.
 */
class ReadRequest {
  readonly method: string;
  readonly headers: Headers;

  constructor(
    readonly original: Request,
    readonly url: string,
    private readonly body: string,
    readonly serverContext: object,
  ) {
    this.method = original.method;
    this.headers = original.headers;
  }

  text(): Promise<string> {
    return Promise.resolve(this.body);
  }
}

// graphql-sse refuses a request without `query` before any hook runs: a request that names a persisted
// operation by hash alone gets the document filled in here (onSubscribe resolves it again, to the same).

function persistedBody(body: string, persisted: PersistedOperations | null): string {
  if (!persisted) return body;
  let params: unknown;
  try {
    params = JSON.parse(body);
  } catch {
    return body; // graphql-sse answers malformed JSON itself
  }
  if (typeof params !== "object" || params === null || "query" in params) return body;
  const extensions = (params as { extensions?: Record<string, unknown> }).extensions;
  if (!extensions) return body;
  return JSON.stringify({ ...params, query: persisted.resolve({ extensions }) });
}

function persistedGetUrl(url: URL, persisted: PersistedOperations | null): URL | null {
  const extensions = url.searchParams.get("extensions");
  if (!persisted || url.searchParams.has("query") || !extensions) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(extensions);
  } catch {
    return null;
  }
  const resolved = new URL(url);
  resolved.searchParams.set("query", persisted.resolve({ extensions: parsed as Record<string, unknown> }));
  return resolved;
}

/** A result without yoga's `extensions.http` on its errors, which yoga itself never sends to clients. */
export function withoutHttpExtensions<R extends { errors?: readonly GraphQLError[] }>(result: R): R {
  if (!result.errors?.some((e) => e.extensions?.http)) return result;
  const errors = result.errors.map((error) => {
    const { http: _http, ...extensions } = error.extensions;
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions,
    });
  });
  return { ...result, errors };
}
