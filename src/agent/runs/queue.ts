import { randomUUID } from "node:crypto";
import type { Db } from "../../db/client.js";
import { claimQueued, queuedState } from "../../db/sends.js";
import type { Logger } from "../../observability/logger.js";
import type { Run } from "./run.js";
import type { RunManager } from "./run-manager.js";

/**
 * Answers a message saved `QUEUED` (`onBusy: ENQUEUE`) when its turn comes: after the running reply and every
 * message queued before it, in order, on whichever instance those run. Waits for each running reply's end
 * (see `RunManager.waitForEnd`), then tries to claim the conversation for this message (one statement: it
 * succeeds only for the oldest queued message of an idle conversation). Independent of any connection: the
 * caller need not watch. Resolves with the started run, or null when the message is gone or was answered.
 */
export async function answerWhenFree(
  prisma: Db,
  runs: RunManager,
  queuedId: string,
  logger: Logger,
): Promise<Run | null> {
  for (;;) {
    if (!runs.isAccepting) return null;
    const assistantId = randomUUID();
    const assistant = await claimQueued(prisma, queuedId, assistantId);
    if (assistant) {
      return runs.start(
        null,
        { ...assistant, toolCalls: [] },
        { model: assistant.model ?? undefined, logger },
      );
    }
    const state = await queuedState(prisma, queuedId);
    if (!state?.queued) return null;
    // Another reply runs (maybe an earlier queued message's, just started): wait for its end. Otherwise an
    // earlier queued message is about to claim the conversation: look again shortly.
    if (state.activeReplyId) await runs.waitForEnd(state.activeReplyId);
    else await new Promise((resolve) => setTimeout(resolve, 50).unref());
  }
}
