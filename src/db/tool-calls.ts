import type { Db } from "./client.js";
import type { Prisma, ToolCall } from "./generated/prisma/client.js";

/** Stores the calls of one tool round; returns them as stored, ordered by position. */
export async function insertToolCalls(db: Db, calls: Prisma.ToolCallCreateManyInput[]): Promise<ToolCall[]> {
  const rows = await db.toolCall.createManyAndReturn({ data: calls });
  // The statement returns rows in no promised order; a round's calls are announced in the model's order.
  return rows.sort((a, b) => a.position - b.position);
}

/** Stores a call's result. */
export async function completeToolCall(
  db: Db,
  id: string,
  { result, isError, completedAt }: Pick<ToolCall, "result" | "isError" | "completedAt">,
): Promise<void> {
  await db.toolCall.updateMany({ where: { id }, data: { result, isError, completedAt } });
}
