import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "../observability/logger.js";
import { requestInfo } from "./request-info.js";

type OperationNode = { kind: string; operation?: string; name?: { value: string } };

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * A server span per HTTP request (continuing the caller's `traceparent`), named after the GraphQL operation
 * it ran; a reply started by the request runs in its async context, so its span is a child of this one.
 */
export function useTracing(tracer: Tracer, logger: Logger): Plugin<{ request: Request }> {
  const spans = new WeakMap<Request, Span>();
  const name = (span: Span | undefined, args: { document: unknown; operationName?: string | null }) => {
    const definitions = (args.document as { definitions?: OperationNode[] }).definitions ?? [];
    const operation = definitions.find(
      (d) =>
        d.kind === "OperationDefinition" && (!args.operationName || d.name?.value === args.operationName),
    );
    const type = operation?.operation ?? "operation";
    const operationName = args.operationName ?? operation?.name?.value ?? "";
    span?.updateName(`graphql ${type} ${operationName}`.trim());
    span?.setAttributes({ "graphql.operation.type": type, "graphql.operation.name": operationName });
  };
  return {
    instrumentation: {
      request({ request }, wrapped) {
        const parent = propagation.extract(context.active(), request.headers, headerGetter);
        const url = new URL(request.url);
        const span = tracer.startSpan(
          `${request.method} ${url.pathname}`,
          {
            kind: SpanKind.SERVER,
            attributes: { "http.request.method": request.method, "url.path": url.pathname },
          },
          parent,
        );
        spans.set(request, span);
        return context.with(trace.setSpan(parent, span), wrapped);
      },
    },
    onExecute: ({ args }) => name(spans.get(args.contextValue.request), args),
    onSubscribe: ({ args }) => name(spans.get(args.contextValue.request), args),
    onResponse({ request, response }) {
      const span = spans.get(request);
      if (!span) return;
      span.setAttribute("http.response.status_code", response.status);
      span.setAttribute("request.id", requestInfo(request, logger).id);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
