import type { Db } from "./client.js";
import type { Prisma, ToolCall, ToolCallStatus } from "./generated/prisma/client.js";

/** Stores the calls of one tool round; returns them as stored, ordered by position. */
export async function insertToolCalls(db: Db, calls: Prisma.ToolCallCreateManyInput[]): Promise<ToolCall[]> {
  const rows = await db.toolCall.createManyAndReturn({ data: calls });
  // The statement returns rows in no promised order; a round's calls are announced in the model's order.
  return rows.sort((a, b) => a.position - b.position);
}

/** Stores a call's result and how it ended. */
export async function completeToolCall(
  db: Db,
  id: string,
  { result, isError, completedAt, status }: Pick<ToolCall, "result" | "isError" | "completedAt" | "status">,
): Promise<void> {
  await db.toolCall.updateMany({ where: { id }, data: { result, isError, completedAt, status } });
}

/** A decision on a call that waits for approval. */
export interface ToolCallDecision {
  approve: boolean;
  /** What was decided and why, as stored (`ToolCall.decision`). */
  decision: string;
  /** For a denial: the result the model receives. */
  deniedResult: string;
}

/**
 * Stores the owner's decision on a call that waits for approval, in one statement fenced on its status
 * and on the owner: an approved call becomes `RUNNING` (it runs when its reply resumes), a denied one
 * `DENIED` with the denial as its result. Returns the call with its reply's conversation, or null when
 * nothing was decided (not the owner's, unknown, or not waiting).
 */
export async function decideToolCall(db: Db, ownerId: string, id: string, d: ToolCallDecision) {
  const now = new Date();
  const [row] = await db.toolCall.updateManyAndReturn({
    where: { id, status: "AWAITING_APPROVAL", message: { ownerId } },
    data: d.approve
      ? { status: "RUNNING", decidedAt: now, decision: d.decision }
      : {
          status: "DENIED",
          decidedAt: now,
          decision: d.decision,
          result: d.deniedResult,
          isError: true,
          completedAt: now,
        },
    include: { message: { select: { conversationId: true } } },
  });
  return row ?? null;
}

/** The status of one of the owner's tool calls, or null when it is not theirs (or does not exist). */
export async function ownedToolCallStatus(
  db: Db,
  ownerId: string,
  id: string,
): Promise<ToolCallStatus | null> {
  const row = await db.toolCall.findFirst({ where: { id, message: { ownerId } }, select: { status: true } });
  return row?.status ?? null;
}

/**
 * Denies every call that has waited for approval longer than `timeoutMs` (one statement, so instances
 * sweeping at once deny each call once); returns the ids of their replies.
 */
export async function expireApprovals(db: Db, timeoutMs: number, result: string): Promise<string[]> {
  const rows = await db.$queryRaw<{ messageId: string }[]>`
    UPDATE "ToolCall"
       SET status = 'DENIED', decision = 'timed out', "decidedAt" = now() AT TIME ZONE 'UTC',
           result = ${result}, "isError" = true, "completedAt" = now() AT TIME ZONE 'UTC'
     WHERE status = 'AWAITING_APPROVAL'
       AND "startedAt" < (now() AT TIME ZONE 'UTC') - ${timeoutMs}::int * interval '1 millisecond'
    RETURNING "messageId"::text AS "messageId"`;
  return [...new Set(rows.map((r) => r.messageId))];
}

/** Ends a reply's calls that never ran (waiting, or approved but not started) as `CANCELLED`. */
export async function cancelPendingToolCalls(db: Db, messageId: string, result: string): Promise<void> {
  await db.toolCall.updateMany({
    where: { messageId, completedAt: null },
    data: { status: "CANCELLED", result, isError: true, completedAt: new Date() },
  });
}

/** The ids of the owner's calls to `server` that wait with this `decision` (e.g. for the server's authorization). */
export async function waitingToolCallsOn(
  db: Db,
  ownerId: string,
  server: string,
  decision: string,
): Promise<string[]> {
  const rows = await db.toolCall.findMany({
    where: { server, status: "AWAITING_APPROVAL", decision, message: { ownerId } },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}
