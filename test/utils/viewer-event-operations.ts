import type { ResultOf } from "@graphql-typed-document-node/core";
import { graphql } from "../generated/index.js";
import { type StreamResult, yogaSSE } from "./sse.js";

// The `viewerEvents` subscription as test/integration/viewer-events.test.ts and scale-out.test.ts read it.

export const ViewerEvents = graphql(`
  subscription ViewerEvents {
    viewerEvents {
      __typename
      ... on ConversationCreated {
        conversation {
          id
          title
          activeReplyId
        }
      }
      ... on ConversationUpdated {
        conversation {
          id
          title
          pinnedAt
          tags
          archivedAt
          activeReplyId
          activeLeaf {
            id
          }
        }
      }
      ... on ConversationDeleted {
        conversationId
      }
      ... on ReplyStarted {
        conversationId
        messageId
        userMessageId
      }
      ... on ReplyFinished {
        conversationId
        messageId
        status
      }
    }
  }
`);

/** One `viewerEvents` event as the tests select it. */
export type ViewerEvent = ResultOf<typeof ViewerEvents>["viewerEvents"];

/** A `viewerEvents` subscription read in the background: `seen` fills as events arrive. */
export interface ViewerEventsReader {
  readonly seen: ViewerEvent[];
  /** Results that were not events (errors), in order. */
  readonly failures: StreamResult<unknown>[];
  /** Resolves when the stream ends (by the server, or `close`). */
  readonly done: Promise<void>;
  close(): void;
}

/**
 * Subscribes to `viewerEvents` over yoga's SSE and resolves once the server answered: the server answers
 * after it listens for the user (on every instance's channel, with Redis), so a change made from now on is
 * seen.
 */
export async function readViewerEvents(url: string, token: string | null): Promise<ViewerEventsReader> {
  const controller = new AbortController();
  const seen: ViewerEvent[] = [];
  const failures: StreamResult<unknown>[] = [];
  let answered = () => {};
  const opened = new Promise<void>((resolve) => {
    answered = resolve;
  });
  const done = (async () => {
    try {
      for await (const result of yogaSSE(url, ViewerEvents, {}, token, controller.signal, answered)) {
        if (result.data?.viewerEvents) seen.push(result.data.viewerEvents);
        else failures.push(result);
      }
    } catch (error) {
      // Cut off (the server closed): a test that expects events fails on what is missing.
      if (!controller.signal.aborted) failures.push({ errors: [{ message: String(error) }] });
    } finally {
      answered();
    }
  })();
  await opened;
  return { seen, failures, done, close: () => controller.abort() };
}
