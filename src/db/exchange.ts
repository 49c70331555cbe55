import { randomUUID } from "node:crypto";
import type { Db } from "./client.js";
import {
  type FeedbackRating,
  type MessageRole,
  type MessageStatus,
  Prisma,
  type ToolCallStatus,
} from "./generated/prisma/client.js";

// Export and import of whole conversations: the reads an export streams, and the writes that rebuild a
// conversation tree (from an export, a ChatGPT data export, or a share) under new ids.

/** A transaction's client, or the client itself: imports write each file in one transaction. */
export type Tx = Prisma.TransactionClient;

const EXPORTED = {
  messages: {
    orderBy: { position: "asc" },
    include: { toolCalls: { orderBy: { position: "asc" } }, feedback: true },
  },
} satisfies Prisma.ConversationInclude;

/** A conversation as an export reads it: every message in position order, tool calls and feedback. */
export type ExportedConversationRow = Prisma.ConversationGetPayload<{ include: typeof EXPORTED }>;

/**
 * The next page of the owner's conversations to export (all of them, or those of `ids`), in id order
 * after `afterId`, each whole. Ids that are missing or someone else's are left out.
 */
export function exportPage(
  db: Db,
  ownerId: string,
  page: { ids: string[] | null; afterId: string | null; take: number },
): Promise<ExportedConversationRow[]> {
  return db.conversation.findMany({
    where: {
      ownerId,
      ...(page.ids && { id: { in: page.ids } }),
      ...(page.afterId && { id: { gt: page.afterId } }),
    },
    orderBy: { id: "asc" },
    take: page.take,
    include: EXPORTED,
  });
}

/** A tool call to write, as an import hands it over. */
export interface TreeToolCall {
  round: number;
  textOffset: number;
  callId: string;
  server: string;
  name: string;
  /** Null stands for JSON's null. */
  arguments: Prisma.InputJsonValue | null;
  result: string | null;
  isError: boolean;
  status: ToolCallStatus;
  startedAt: Date;
  decidedAt: Date | null;
  decision: string | null;
  completedAt: Date | null;
}

/** A message to write: `key` and `parentKey` are the source's ids, only used to link the tree. */
export interface TreeMessage {
  key: string;
  parentKey: string | null;
  role: MessageRole;
  content: string;
  reasoning: string | null;
  status: MessageStatus;
  error: string | null;
  model: string | null;
  usage: { promptTokens: number | null; completionTokens: number | null; totalTokens: number | null } | null;
  createdAt: Date;
  updatedAt: Date;
  feedback: { rating: FeedbackRating; comment: string | null; createdAt: Date; updatedAt: Date } | null;
  toolCalls: TreeToolCall[];
}

/**
 * A conversation to write. `messages` come parents first, in the order they get their positions;
 * `activeLeafKey` names the newest message of the active path (null: no active path, e.g. empty).
 */
export interface TreeConversation {
  title: string;
  createdAt: Date;
  updatedAt: Date;
  activityAt: Date;
  archivedAt: Date | null;
  pinnedAt: Date | null;
  tags: string[];
  activeLeafKey: string | null;
  messages: TreeMessage[];
}

/**
 * Writes one conversation tree as the owner's, under new ids, with the bookkeeping the tree pages rely on
 * (position, depth, sibling index, child count, active path, counts). The caller has checked that every
 * `parentKey` names an earlier message and that `activeLeafKey` names one. Returns the new id.
 */
export async function insertConversationTree(tx: Tx, ownerId: string, tree: TreeConversation) {
  const ids = new Map<string, string>();
  const depth = new Map<string, number>();
  const children = new Map<string | null, number>();
  for (const m of tree.messages) {
    ids.set(m.key, randomUUID());
    depth.set(m.key, m.parentKey === null ? 1 : (depth.get(m.parentKey) ?? 0) + 1);
    children.set(m.parentKey, (children.get(m.parentKey) ?? 0) + 1);
  }
  const onPath = new Set<string>();
  const parentOf = new Map(tree.messages.map((m) => [m.key, m.parentKey]));
  for (let key = tree.activeLeafKey; key !== null; key = parentOf.get(key) ?? null) onPath.add(key);

  const conversation = await tx.conversation.create({
    data: {
      ownerId,
      title: tree.title,
      createdAt: tree.createdAt,
      activityAt: tree.activityAt,
      archivedAt: tree.archivedAt,
      pinned: tree.pinnedAt !== null,
      pinnedAt: tree.pinnedAt,
      tags: tree.tags,
      messageCount: tree.messages.length,
      rootCount: children.get(null) ?? 0,
      pathLength: onPath.size,
    },
    select: { id: true },
  });
  const siblingsSoFar = new Map<string | null, number>();
  await tx.message.createMany({
    data: tree.messages.map((m, i) => {
      const siblingIndex = siblingsSoFar.get(m.parentKey) ?? 0;
      siblingsSoFar.set(m.parentKey, siblingIndex + 1);
      return {
        id: ids.get(m.key) as string,
        conversationId: conversation.id,
        ownerId,
        position: i + 1,
        parentId: m.parentKey === null ? null : (ids.get(m.parentKey) as string),
        depth: depth.get(m.key) as number,
        siblingIndex,
        childCount: children.get(m.key) ?? 0,
        onActivePath: onPath.has(m.key),
        role: m.role,
        content: m.content,
        reasoning: m.reasoning,
        status: m.status,
        error: m.error,
        model: m.model,
        promptTokens: m.usage?.promptTokens ?? null,
        completionTokens: m.usage?.completionTokens ?? null,
        totalTokens: m.usage?.totalTokens ?? null,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
      };
    }),
  });
  const calls = tree.messages.flatMap((m) =>
    m.toolCalls.map((call, position) => ({
      ...call,
      arguments: call.arguments ?? Prisma.JsonNull,
      messageId: ids.get(m.key) as string,
      position,
    })),
  );
  if (calls.length > 0) await tx.toolCall.createMany({ data: calls });
  const feedback = tree.messages.flatMap((m) =>
    m.feedback ? [{ ...m.feedback, messageId: ids.get(m.key) as string, ownerId }] : [],
  );
  if (feedback.length > 0) await tx.messageFeedback.createMany({ data: feedback });
  // Last, with `updatedAt` given: the leaf's foreign key needs the messages, and Prisma would stamp now.
  await tx.conversation.update({
    where: { id: conversation.id },
    data: {
      activeLeafId: tree.activeLeafKey === null ? null : (ids.get(tree.activeLeafKey) ?? null),
      updatedAt: tree.updatedAt,
    },
  });
  return conversation.id;
}

/** Longest a whole file's import may hold its transaction open. */
const IMPORT_TRANSACTION_MS = 10 * 60_000;

/**
 * Writes every conversation `trees` yields as the owner's, all in one transaction: a file that fails
 * anywhere (bad JSON, a bad conversation, a database error) leaves nothing behind. `trees` is consumed
 * inside the transaction, so a streamed file is parsed while it is written, one conversation at a time.
 */
export function importTrees(
  db: Db,
  ownerId: string,
  trees: AsyncIterable<TreeConversation>,
): Promise<string[]> {
  return db.$transaction(
    async (tx) => {
      const created: string[] = [];
      for await (const tree of trees) created.push(await insertConversationTree(tx, ownerId, tree));
      return created;
    },
    { timeout: IMPORT_TRANSACTION_MS },
  );
}
