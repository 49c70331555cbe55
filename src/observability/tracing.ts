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
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Plugin } from "graphql-yoga";
import type { RunObserver } from "../agent/runs/observer.js";
import type { Config } from "../core/config.js";
import { requestInfo } from "../http/request-info.js";
import type { Context } from "../resolvers/context.js";
import type { Logger } from "./logger.js";

type OperationNode = { kind: string; operation?: string; name?: { value: string } };

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * Optional OpenTelemetry tracing (on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set): a server span per HTTP
 * request (continuing the caller's `traceparent`), named after the GraphQL operation it ran, and a
 * `chat.reply` span per reply, child of the request that started it (the reply runs in the request's
 * async context), exported over OTLP/HTTP in batches.
 */
export function startTracing(settings: NonNullable<Config["tracing"]>, logger: Logger) {
  // Process-wide: the first runtime of a process installs them (later calls keep the same ones).
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager)) manager.disable();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new OTLPTraceExporter({ url: new URL("v1/traces", withSlash(settings.endpoint)).href });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  const tracer = provider.getTracer("chat-backend");
  logger.info({ endpoint: settings.endpoint }, "tracing to OTLP");
  return {
    plugin: useTracing(tracer, logger),
    observer: replySpans(tracer),
    /** Exports the spans still buffered. */
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The tracing of a runtime, when on. */
export type Tracing = ReturnType<typeof startTracing>;

function withSlash(url: string) {
  return url.endsWith("/") ? url : `${url}/`;
}

function useTracing(tracer: Tracer, logger: Logger): Plugin<Context> {
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

function replySpans(tracer: Tracer): RunObserver {
  return {
    event: () => {},
    ended(summary) {
      const end = Date.now();
      const span = tracer.startSpan(
        "chat.reply",
        {
          startTime: end - summary.durations.totalMs,
          attributes: {
            "chat.message_id": summary.messageId,
            "chat.reply.status": summary.status,
            "gen_ai.request.model": summary.model,
            ...(summary.usage && {
              "gen_ai.usage.input_tokens": summary.usage.promptTokens,
              "gen_ai.usage.output_tokens": summary.usage.completionTokens,
            }),
            ...(summary.durations.firstTokenMs !== null && {
              "chat.first_token_ms": summary.durations.firstTokenMs,
            }),
          },
        },
        context.active(),
      );
      if (summary.status === "FAILED") span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(end);
    },
  };
}
