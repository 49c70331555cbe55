import type { Db } from "../../db/client.js";
import type { Logger } from "../../observability/logger.js";
import type { RunNetwork } from "./network.js";
import { ABANDONED_REPLY_ERROR, ABANDONED_TOOL_CALL_RESULT } from "./run-manager.js";

// Leases of running replies, for several instances sharing one database. Each instance renews the
// heartbeat of all its running replies in one statement every third of the lease, and fails the replies
// whose heartbeat is older than the lease: their instance died (or lost the database for that long). Both
// use the database's clock, so the instances' clocks need not agree.

/** A reply another instance abandoned, as claimed by the sweep. */
interface Abandoned {
  id: string;
  lastSeq: number;
}

/** Renews the heartbeat of this instance's running replies; returns how many rows it touched. */
export function renewLeases(prisma: Db, messageIds: string[]): Promise<number> {
  if (messageIds.length === 0) return Promise.resolve(0);
  return prisma.$executeRaw`
    UPDATE "Message" SET "heartbeatAt" = now()
    WHERE id = ANY(${messageIds}::uuid[]) AND status = 'STREAMING'`;
}

/**
 * Marks `FAILED` (keeping their saved text) the replies whose lease expired, ends their tool calls that never
 * answered as errors, frees their conversations, and returns them. One statement: when several instances sweep at once, each reply is claimed by exactly one.
 * `lastSeq` becomes the seq of the final event (after the last one saved; the sweep raises it further when
 * the dead run had shared more).
 */
export function claimExpiredReplies(prisma: Db, leaseMs: number): Promise<Abandoned[]> {
  return prisma.$queryRaw<Abandoned[]>`
    WITH claimed AS (
      UPDATE "Message"
      SET status = 'FAILED', error = ${ABANDONED_REPLY_ERROR}, "lastSeq" = "lastSeq" + 1,
        "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE status = 'STREAMING' AND "heartbeatAt" < now() - ${leaseMs}::int * interval '1 millisecond'
      RETURNING id, "lastSeq"
    ), freed AS (
      UPDATE "Conversation" SET "activeReplyId" = NULL
      FROM claimed WHERE "Conversation"."activeReplyId" = claimed.id
    ), unanswered AS (
      UPDATE "ToolCall"
      SET "isError" = true, result = ${ABANDONED_TOOL_CALL_RESULT}, "completedAt" = now() AT TIME ZONE 'UTC'
      FROM claimed WHERE "ToolCall"."messageId" = claimed.id AND "ToolCall"."completedAt" IS NULL
    )
    SELECT id, "lastSeq" FROM claimed`;
}

/**
 * Keeps this instance's leases and ends the replies of instances that died: their conversations are freed
 * and their followers, wherever they are, receive `MessageCompleted` (numbered after every event the dead
 * run managed to share).
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      prisma: Db;
      network: RunNetwork;
      logger: Logger;
      leaseMs: number;
      /** The ids of the replies this instance is writing now. */
      running: () => string[];
    },
  ) {}

  /** Renews and sweeps every third of the lease until {@link stop}. */
  start(): void {
    this.timer = setInterval(
      () => {
        this.busy ??= this.tick().finally(() => {
          this.busy = undefined;
        });
      },
      Math.max(100, Math.floor(this.deps.leaseMs / 3)),
    );
    this.timer.unref();
  }

  /** Stops renewing (the runs end first, at shutdown) and waits for a tick in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  /** Ends every reply whose lease expired; returns how many. */
  async sweep(): Promise<number> {
    const { prisma, network, logger, leaseMs } = this.deps;
    const claimed = await claimExpiredReplies(prisma, leaseMs);
    for (const reply of claimed) {
      try {
        const shared = await network.lastPublishedSeq(reply.id).catch(() => null);
        const finalSeq = Math.max(reply.lastSeq, (shared ?? 0) + 1);
        const message = await prisma.message.update({
          where: { id: reply.id },
          data: { lastSeq: finalSeq },
          include: { toolCalls: { orderBy: { position: "asc" } } },
        });
        network.publish(reply.id, { type: "MessageCompleted", seq: finalSeq, message });
      } catch (error) {
        // Deleted meanwhile, or the database went away: the reply is FAILED and its conversation free anyway.
        logger.warn({ err: error, messageId: reply.id }, "could not finish an abandoned reply");
      }
    }
    if (claimed.length > 0) {
      logger.warn(
        { replies: claimed.length },
        "marked replies of an instance that stopped responding as FAILED",
      );
    }
    return claimed.length;
  }

  private async tick(): Promise<void> {
    const { prisma, network, logger, running } = this.deps;
    const ids = running();
    network.keepAlive(ids);
    try {
      await renewLeases(prisma, ids);
      await this.sweep();
    } catch (error) {
      logger.warn({ err: error }, "could not renew or check reply leases");
    }
  }
}
