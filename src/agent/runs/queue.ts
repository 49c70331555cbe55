import { newUuid } from "../../core/ids.js";
import type { Db } from "../../db/client.js";
import { withToolCalls } from "../../db/columns.js";
import { claimQueued, newestQueuedMessages, queuedState } from "../../db/sends.js";
import type { Logger } from "../../observability/logger.js";
import type { RunOptions } from "./run.js";
import type { RunManager } from "./run-manager.js";

/**
 * Waits for the answer of a message saved `QUEUED` (`onBusy: ENQUEUE`) to start, and starts queued replies
 * meanwhile: each time the conversation is free, the oldest queued message is answered (one statement
 * claims the conversation for it, so however many waiters on however many instances try, one wins), in
 * order, and its reply waited for (see `RunManager.waitForEnd`), wherever it runs. Any waiter of a
 * conversation thus moves its whole queue on, and a queue whose first waiter is gone still advances.
 * Independent of any connection. Resolves with the id of this message's reply once it has started, or null
 * when the message is gone (its conversation was deleted) or the server is shutting down. `logFields`: what
 * the log lines of the replies it starts carry (the id of the request that queued the message, and its user).
 */
export async function answerWhenFree(
  prisma: Db,
  runs: RunManager,
  queuedId: string,
  logFields: RunOptions["logFields"],
): Promise<string | null> {
  let lostClaim = false;
  for (;;) {
    const state = await queuedState(prisma, queuedId);
    if (!state) return null;
    if (!state.queued) return state.replyId;
    if (!runs.isAccepting) return null;
    if (state.activeReplyId) {
      lostClaim = false;
      await runs.waitForEnd(state.activeReplyId);
      continue;
    }
    // Another waiter claimed the turn just before: look again at once (it may be this message's reply,
    // which the client should follow from its start), and only then pause before trying again.
    if (lostClaim) await new Promise((resolve) => setTimeout(resolve, 20).unref());
    const assistant = await claimQueued(prisma, state.conversationId, newUuid());
    lostClaim = assistant === null;
    if (!assistant) continue;
    const run = runs.start(null, withToolCalls(assistant, []), {
      model: assistant.model ?? undefined,
      logFields,
    });
    if (assistant.parentId === queuedId) return run.messageId;
  }
}

/**
 * Moves on every queue whose waiters may be gone: at start (the process that held them stopped or crashed)
 * and after another instance's replies were ended for it (see LeaseKeeper). A waiter for each queue's
 * newest message answers the whole queue in order; waiters elsewhere for the same queue are harmless (one
 * statement claims each turn). Returns how many queues it waits for.
 */
export async function resumeQueues(prisma: Db, runs: RunManager, logger: Logger): Promise<number> {
  const newest = await newestQueuedMessages(prisma);
  for (const id of newest) {
    answerWhenFree(prisma, runs, id, undefined).catch((error: unknown) =>
      logger.warn({ err: error, messageId: id }, "could not answer a queued message"),
    );
  }
  return newest.length;
}
