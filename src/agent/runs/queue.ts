import { randomUUID } from "node:crypto";
import type { Db } from "../../db/client.js";
import { claimQueued, queuedState } from "../../db/sends.js";
import type { Logger } from "../../observability/logger.js";
import type { RunManager } from "./run-manager.js";

/**
 * Waits for the answer of a message saved `QUEUED` (`onBusy: ENQUEUE`) to start, and starts queued replies
 * meanwhile: each time the conversation is free, the oldest queued message is answered (one statement
 * claims the conversation for it, so however many waiters on however many instances try, one wins), in
 * order, and its reply waited for (see `RunManager.waitForEnd`), wherever it runs. Any waiter of a
 * conversation thus moves its whole queue on, and a queue whose first waiter is gone still advances.
 * Independent of any connection. Resolves with the id of this message's reply once it has started, or null
 * when the message is gone (its conversation was deleted) or the server is shutting down.
 */
export async function answerWhenFree(
  prisma: Db,
  runs: RunManager,
  queuedId: string,
  logger: Logger,
): Promise<string | null> {
  for (;;) {
    const state = await queuedState(prisma, queuedId);
    if (!state) return null;
    if (!state.queued) return state.replyId;
    if (!runs.isAccepting) return null;
    if (state.activeReplyId) {
      await runs.waitForEnd(state.activeReplyId);
      continue;
    }
    const assistant = await claimQueued(prisma, state.conversationId, randomUUID());
    if (!assistant) {
      // Another waiter claimed it first: look again shortly.
      await new Promise((resolve) => setTimeout(resolve, 20).unref());
      continue;
    }
    const run = runs.start(
      null,
      { ...assistant, toolCalls: [] },
      { model: assistant.model ?? undefined, logger },
    );
    if (assistant.parentId === queuedId) return run.messageId;
  }
}
