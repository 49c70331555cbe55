import type { Db } from "../../db/client.js";
import type { ToolCall, ToolCallStatus } from "../../db/generated/prisma/client.js";
import { decidedPausedReplies } from "../../db/replies.js";
import {
  decideToolCall,
  expireApprovals,
  ownedToolCallStatus,
  waitingToolCallsOn,
} from "../../db/tool-calls.js";
import { grantToolPermission } from "../../db/tool-permissions.js";
import { findToolServerAuthorization } from "../../db/tool-server-auth.js";
import type { Logger } from "../../observability/logger.js";
import type { RunManager } from "./run-manager.js";
import { AWAITING_AUTHORIZATION } from "./waits.js";

/** How long a decision holds: this call, the rest of its conversation, or every conversation of the user. */
export type ApprovalScope = "ONCE" | "CONVERSATION" | "ALWAYS";

/** A user's decision on a call that waits for approval. */
export interface Decision {
  ownerId: string;
  toolCallId: string;
  approve: boolean;
  remember: ApprovalScope;
  reason: string | null;
  /** What is stored as decided, when not the user's own approval (e.g. "authorized"). */
  decision?: string;
}

/** What a decision came to: the call as decided, or why nothing was written. */
export type DecisionResult =
  | { kind: "decided"; toolCall: ToolCall }
  | { kind: "not-found" }
  | { kind: "conflict"; status: ToolCallStatus };

/** The result the model receives for a call the user denied. */
export function deniedResult(reason: string | null): string {
  return `The user denied this tool call; it was not run.${reason ? ` Their reason: ${reason}` : ""}`;
}

/** The result the model receives for a call nobody decided on in time. */
export function timedOutResult(timeoutMs: number): string {
  return `Nobody approved this tool call within ${Math.round(timeoutMs / 1000)} s; it was denied and not run.`;
}

const approvedAs: Record<ApprovalScope, string> = {
  ONCE: "approved",
  CONVERSATION: "approved for this conversation",
  ALWAYS: "approved always",
};

/**
 * Stores a decision (fenced: only the owner's call, only while it waits), remembers an approval for the
 * conversation or for good, and resumes the reply here once none of its calls waits any more. Nothing is
 * written when the call is not the owner's (`not-found`) or no longer waits (`conflict`).
 */
export async function decide(prisma: Db, runs: RunManager, d: Decision): Promise<DecisionResult> {
  const reason = d.reason?.trim() || null;
  const decision =
    d.decision ?? (d.approve ? approvedAs[d.remember] : reason ? `denied: ${reason}` : "denied");
  const row = await decideToolCall(prisma, d.ownerId, d.toolCallId, {
    approve: d.approve,
    decision,
    deniedResult: deniedResult(reason),
  });
  if (!row) {
    const status = await ownedToolCallStatus(prisma, d.ownerId, d.toolCallId);
    return status === null ? { kind: "not-found" } : { kind: "conflict", status };
  }
  const { message, ...toolCall } = row;
  if (d.approve && d.remember !== "ONCE") {
    await grantToolPermission(prisma, {
      ownerId: d.ownerId,
      server: toolCall.server,
      tool: toolCall.name,
      conversationId: d.remember === "CONVERSATION" ? message.conversationId : null,
    });
  }
  await runs.resumeIfReady(toolCall.messageId);
  return { kind: "decided", toolCall };
}

/**
 * On every instance: denies calls that waited longer than the approval timeout and resumes their replies,
 * and resumes paused replies whose decisions were all made but whose resume was lost (a crash between
 * the two). The statements are fenced, so instances sweeping at once do each thing once.
 */
export class ApprovalKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(private readonly deps: { prisma: Db; runs: RunManager; logger: Logger; timeoutMs: number }) {}

  /** Sweeps every quarter of the timeout (at most every 5 s, at least every 100 ms) until {@link stop}. */
  start(): void {
    const every = Math.min(5_000, Math.max(100, Math.floor(this.deps.timeoutMs / 4)));
    this.timer = setInterval(() => {
      this.busy ??= this.sweep()
        .then(() => {})
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, "could not sweep tool approvals"))
        .finally(() => {
          this.busy = undefined;
        });
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  /** One sweep; returns how many replies it resumed. */
  async sweep(): Promise<number> {
    const { prisma, runs, timeoutMs } = this.deps;
    const expired = await expireApprovals(prisma, timeoutMs, timedOutResult(timeoutMs));
    const ready = new Set([...expired, ...(await decidedPausedReplies(prisma))]);
    let resumed = 0;
    for (const id of ready) if (await runs.resumeIfReady(id)) resumed++;
    return resumed;
  }
}

/**
 * Completes a user's authorization of a tool server from its callback (`state` names the user and the
 * server) and lets the calls that waited for it run: they are approved, and their replies resume. Returns
 * the server, or null when `state` names no authorization in progress.
 */
export async function completeAuthorization(
  prisma: Db,
  runs: RunManager,
  state: string,
  code: string,
): Promise<string | null> {
  const pending = await findToolServerAuthorization(prisma, state);
  if (!pending) return null;
  await runs.toolbox.completeAuthorization(pending.server, pending.ownerId, code);
  // Only the calls that waited for the authorization alone: those the user must also approve stay asked.
  const waiting = await waitingToolCallsOn(prisma, pending.ownerId, pending.server, AWAITING_AUTHORIZATION);
  for (const toolCallId of waiting) {
    await decide(prisma, runs, {
      ownerId: pending.ownerId,
      toolCallId,
      approve: true,
      remember: "ONCE",
      reason: null,
      decision: "authorized",
    });
  }
  return pending.server;
}
