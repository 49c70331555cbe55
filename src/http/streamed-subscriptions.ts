import type { Plugin } from "graphql-yoga";
import { BadUserInputError } from "../core/errors.js";
import { acceptsMultipartSubscriptions } from "./multipart-subscriptions.js";

/**
 * Refuses, before it runs, a subscription sent to `endpoint` by a client that cannot read a stream (an
 * `Accept` without `text/event-stream`, `multipart/mixed;subscriptionSpec=1.0` or a wildcard covering
 * one). Yoga would run it (`sendMessage` saves the message and starts the reply) and only then answer
 * 406, leaving the subscription open until its idle timeout. The graphql-sse endpoint always streams.
 */
export function useStreamedSubscriptions(endpoint: string): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || new URL(request.url).pathname !== endpoint) return;
      const accept = request.headers.get("accept");
      if (acceptsEventStream(accept) || acceptsMultipartSubscriptions(accept)) return;
      setResultAndStopExecution({
        errors: [
          new BadUserInputError(
            "Subscriptions send a stream of events: ask for it with Accept: text/event-stream (or multipart/mixed;subscriptionSpec=1.0), or use the graphql-sse endpoint",
          ),
        ],
      });
    },
  };
}

/** Whether an Accept header (none means anything) covers `text/event-stream`. */
function acceptsEventStream(accept: string | null): boolean {
  if (!accept) return true;
  return accept.split(",").some((range) => {
    const type = range.split(";")[0]?.trim().toLowerCase();
    return type === "text/event-stream" || type === "text/*" || type === "*/*";
  });
}
