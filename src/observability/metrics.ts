import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, type Summary } from "prom-client";
import type { ReplyObserver } from "./replies.js";

/** Buckets for reply phases: from a fast first token to a long tool-using reply. */
const PHASE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The process's Prometheus metrics, in a registry of their own (one per runtime, so tests can run many).
 * GraphQL request and phase latencies come from yoga's Prometheus plugin on the same registry (src/app/create-app.ts).
 */
export function createMetrics(sources: { runningReplies: () => number; openStreams: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const replies = new Counter({
    name: "chat_replies_total",
    help: "Assistant replies ended, by final status (COMPLETE, CANCELLED, FAILED).",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  // Registered here, not by yoga's Prometheus plugin, which is told not to time subscriptions (see
  // `subscriptionEnded`); the same name, help, labels and buckets as the plugin's.
  const subscribePhase = new Histogram({
    name: "graphql_envelop_phase_subscribe",
    help: 'Time spent on running the GraphQL "subscribe" function',
    labelNames: ["operationType", "operationName"] as const,
    registers: [registry],
  });
  const replyPhase = new Histogram({
    name: "chat_reply_phase_seconds",
    help: "Time spent per reply phase: history (loading it), first_token (start to first text), total.",
    labelNames: ["phase"] as const,
    buckets: PHASE_BUCKETS,
    registers: [registry],
  });
  // Events are tallied in plain numbers and handed to the counter at scrape time: an `inc()` per event
  // cost several microseconds on the streaming path (the benchmark's profile).
  const eventTally = new Map<string, number>();
  new Counter({
    name: "chat_stream_events_total",
    help: "Stream events published by replies, by type (TextDelta, ToolCallStarted, ...).",
    labelNames: ["type"] as const,
    registers: [registry],
    collect() {
      for (const [type, count] of eventTally) this.inc({ type }, count);
      eventTally.clear();
    },
  });
  const tokens = new Counter({
    name: "chat_tokens_total",
    help: "Model tokens used by replies as the provider reported them, by kind (prompt, completion).",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: "chat_tool_calls_total",
    help: "Tool calls completed by replies, by outcome (ok, error).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const modelErrors = new Counter({
    name: "chat_model_errors_total",
    help: "Replies that failed because the model call failed.",
    registers: [registry],
  });
  const limited = new Counter({
    name: "chat_rate_limited_total",
    help: "Requests refused by a rate limit or quota, by limit (requests, messages, replies, tokens, streams).",
    labelNames: ["limit"] as const,
    registers: [registry],
  });
  const followersAttached = new Counter({
    name: "chat_followers_attached_total",
    help: "Streams of this instance that attached to a reply running on another one (subscribed and caught up).",
    registers: [registry],
  });
  new Gauge({
    name: "chat_replies_running",
    help: "Replies being written by this instance now.",
    registers: [registry],
    collect() {
      this.set(sources.runningReplies());
    },
  });
  new Gauge({
    name: "chat_streams_open",
    help: "Subscription streams open on this instance now.",
    registers: [registry],
    collect() {
      this.set(sources.openStreams());
    },
  });

  const runs: ReplyObserver = {
    event(event) {
      eventTally.set(event.type, (eventTally.get(event.type) ?? 0) + 1);
      if (event.type === "ToolCallCompleted" && event.toolCall) {
        toolCalls.inc({ outcome: event.toolCall.isError ? "error" : "ok" });
      }
    },
    ended({ status, usage, modelError, durations }) {
      replies.inc({ status });
      if (modelError) modelErrors.inc();
      if (usage) {
        tokens.inc({ kind: "prompt" }, usage.promptTokens);
        tokens.inc({ kind: "completion" }, usage.completionTokens);
      }
      if (durations.historyMs !== null) replyPhase.observe({ phase: "history" }, durations.historyMs / 1000);
      if (durations.firstTokenMs !== null)
        replyPhase.observe({ phase: "first_token" }, durations.firstTokenMs / 1000);
      replyPhase.observe({ phase: "total" }, durations.totalMs / 1000);
    },
  };
  return {
    registry,
    runs,
    limited: (limit: string) => limited.inc({ limit }),
    followerAttached: () => followersAttached.inc(),
    /**
     * Errors a subscription's events carried, counted as yoga's Prometheus plugin counts them
     * (`graphql_envelop_error_result`, which that plugin registers) for the compiled subscriptions that
     * answer in its place (src/http/compiled-subscriptions.ts).
     */
    subscriptionErrors(errors: readonly { readonly path?: readonly (string | number)[] | undefined }[]) {
      const counter = registry.getSingleMetric("graphql_envelop_error_result") as Counter | undefined;
      for (const error of errors)
        counter?.inc({
          operationType: "subscription",
          phase: "execute",
          ...(error.path ? { path: error.path.join(".") } : {}),
        });
    },
    /**
     * A subscription's end and time (from its start to the end of its stream), recorded where yoga's
     * Prometheus plugin records them (`graphql_envelop_phase_subscribe`, and the subscription samples of
     * `graphql_envelop_request`, `graphql_envelop_request_duration` and
     * `graphql_envelop_request_time_summary`, which that plugin registers), for the compiled subscriptions
     * (src/http/compiled-subscriptions.ts).
     */
    subscriptionEnded(seconds: number) {
      const labels = { operationType: "subscription" };
      subscribePhase.observe(labels, seconds);
      (registry.getSingleMetric("graphql_envelop_request") as Counter | undefined)?.inc(labels);
      (registry.getSingleMetric("graphql_envelop_request_duration") as Histogram | undefined)?.observe(
        labels,
        seconds,
      );
      (registry.getSingleMetric("graphql_envelop_request_time_summary") as Summary | undefined)?.observe(
        labels,
        seconds,
      );
    },
  };
}

/** The metrics of a runtime. */
export type Metrics = ReturnType<typeof createMetrics>;
