import { context, propagation, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Config } from "../core/config.js";
import type { Logger } from "./logger.js";
import type { ReplyObserver } from "./replies.js";

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
    tracer,
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

function replySpans(tracer: Tracer): ReplyObserver {
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
