import type { ExecutionResult } from "graphql";
import { GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";

type ResultProcessor = Parameters<
  Parameters<NonNullable<Plugin["onResultProcess"]>>[0]["setResultProcessor"]
>[0];

/**
 * Apollo's multipart HTTP protocol for subscriptions
 * (https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol), the
 * protocol Apollo Client's default `HttpLink` speaks. Yoga only streams subscriptions as SSE and answers
 * such a request 406, so this plugin takes over the result of a subscription whose request accepts
 * `multipart/mixed;subscriptionSpec=1.0`:
 *
 * - every part is `Content-Type: application/json`; boundary `graphql`; the body ends with `--graphql--`;
 * - an event is `{"payload": <ExecutionResult>}` (its GraphQL errors stay inside the payload);
 * - a heartbeat is `{}`, sent at once and then every `heartbeatMs` (proxies close idle connections);
 * - a failure of the stream itself is `{"payload": null, "errors": [...]}`, then the end.
 * Client disconnects return the subscription's iterator, which ends it.
 *
 * Requests that accept other types (urql's `text/event-stream, multipart/mixed`, GraphiQL's SSE) keep
 * yoga's own processors.
 */
export function useMultipartSubscriptions(options: { heartbeatMs: number }): Plugin {
  const subscriptions = new WeakSet<Request>();
  const processor = multipartSubscriptionProcessor(options);
  return {
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request) subscriptions.add(request);
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (!subscriptions.has(request) || !isAsyncIterable(result)) return;
      if (!acceptsMultipartSubscriptions(request.headers.get("accept"))) return;
      setResultProcessor(processor, MULTIPART_CONTENT_TYPE);
    },
  };
}

/** What the response says it is; Apollo Client reads the boundary from it. */
export const MULTIPART_CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"';

/** Whether an Accept header lists `multipart/mixed` with `subscriptionSpec=1.0` (quoted or not). */
export function acceptsMultipartSubscriptions(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    return (
      type === "multipart/mixed" &&
      params.some((p) => p.replace(/\s/g, "").replace(/"/g, "") === "subscriptionspec=1.0")
    );
  });
}

const PART_HEADER = "\r\nContent-Type: application/json\r\n\r\n";
const BOUNDARY = "\r\n--graphql";

function multipartSubscriptionProcessor(options: { heartbeatMs: number }): ResultProcessor {
  return (result, fetchAPI) => {
    if (!isAsyncIterable(result)) throw new Error("multipart subscriptions need a stream");
    const iterator = result[Symbol.asyncIterator]();
    const encoder = new fetchAPI.TextEncoder();
    const part = (body: string) => encoder.encode(`${PART_HEADER}${body}${BOUNDARY}`);
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let closed = false;

    const stream = new fetchAPI.ReadableStream<Uint8Array>({
      start(controller) {
        // The preamble's boundary, then a heartbeat so that headers and a first byte go out at once.
        controller.enqueue(encoder.encode(BOUNDARY));
        controller.enqueue(part("{}"));
        heartbeat = setInterval(() => {
          // null: errored or closed; 0 or less: the client is behind and data is queued anyway.
          if (closed || controller.desiredSize === null || controller.desiredSize <= 0) return;
          controller.enqueue(part("{}"));
        }, options.heartbeatMs);
      },
      async pull(controller) {
        // Yoga hands over streams whose failures are already results (masked errors); should one throw
        // anyway, the response is cut (the client sees a premature end) and the heartbeat must stop.
        const { done, value } = await iterator.next().catch((error: unknown) => {
          finish();
          throw error;
        });
        if (closed) return;
        if (done) {
          finish();
          controller.enqueue(encoder.encode("--\r\n"));
          controller.close();
          return;
        }
        // A result without data is the stream failing (yoga turns a broken source into one): Apollo's
        // protocol reports that outside the payload, and the stream ends after it.
        const body =
          value.data === undefined && value.errors?.length
            ? { payload: null, errors: value.errors.map(wireError) }
            : { payload: wireResult(value) };
        controller.enqueue(part(JSON.stringify(body)));
      },
      async cancel(reason) {
        finish();
        await iterator.return?.(reason);
      },
    });

    function finish() {
      closed = true;
      clearInterval(heartbeat);
    }

    return new fetchAPI.Response(stream, {
      status: 200,
      headers: {
        "content-type": MULTIPART_CONTENT_TYPE,
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
        connection: "keep-alive",
      },
    });
  };
}

/** An execution result as clients see it: yoga's internal `http` extensions dropped. */
function wireResult(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length && !result.extensions?.http) return result;
  const { http: _http, ...extensions } = (result.extensions ?? {}) as Record<string, unknown>;
  return {
    ...result,
    errors: result.errors?.map(wireError),
    extensions: Object.keys(extensions).length ? extensions : undefined,
  };
}

/** A GraphQL error without the extensions yoga keeps for itself. */
function wireError(error: GraphQLError): GraphQLError {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}
