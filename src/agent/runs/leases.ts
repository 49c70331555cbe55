import { claimExpiredReplies, renewLeases, setFinalSeq } from "../../db/abandoned-replies.js";
import type { Db } from "../../db/client.js";
import type { Logger } from "../../observability/logger.js";
import type { RunNetwork } from "./network.js";

// Leases of running replies, for several instances sharing one database: every third of the lease, each
// instance renews the heartbeat of its running replies and ends those of instances that died (the
// statements, on the database's clock, are in db/abandoned-replies.ts).

/**
 * Keeps this instance's leases and ends the replies of instances that died: their conversations are freed,
 * their followers, wherever they are, receive `MessageCompleted` (numbered after every event the dead run
 * managed to share), and their owners' tabs `ReplyFinished`.
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
      /**
       * Told when a periodic sweep ended replies of an instance that died (their conversations' queues
       * move on).
       */
      onAbandoned?: () => void;
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
        const message = await setFinalSeq(prisma, reply.id, finalSeq);
        network.publish(reply.id, { type: "MessageCompleted", seq: finalSeq, message });
        network.viewerEvents.publish(message.ownerId, {
          type: "ReplyFinished",
          conversationId: message.conversationId,
          messageId: message.id,
          status: "FAILED",
        });
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
      // Not at start: the runtime moves every queue on itself then.
      if ((await this.sweep()) > 0) this.deps.onAbandoned?.();
    } catch (error) {
      logger.warn({ err: error }, "could not renew or check reply leases");
    }
  }
}
