import { NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { checkPageSize, cursorId, staleCursor } from "../core/pagination.js";
import { isRecordNotFound } from "../db/errors.js";
import type { Prisma } from "../db/generated/prisma/client.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { normalizeTitle } from "./text.js";

/** The selection Pothos computes for the requested fields; always passed into the Prisma call. */
type ConversationQuery = { include?: Prisma.ConversationInclude; select?: Prisma.ConversationSelect };
type PageQuery = ConversationQuery & {
  cursor?: Prisma.ConversationWhereUniqueInput;
  take: number;
  skip: number;
};

/** The title a conversation gets when its creator gives none. */
export const DEFAULT_TITLE = "New conversation";

/** Most recently active first; the id breaks ties so the order is total and cursors are stable. */
const RECENT_FIRST = [
  { activityAt: "desc" },
  { id: "desc" },
] satisfies Prisma.ConversationOrderByWithRelationInput[];

function archivedFilter(archived: boolean | null | undefined) {
  return archived ? { not: null } : null;
}

/** One of the viewer's conversations by global id; `NOT_FOUND` when missing or someone else's. */
export async function getConversation(ctx: Context, globalId: string, query: ConversationQuery) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  const found = await ctx.prisma.conversation.findFirst({ ...query, where: { id, ownerId: viewer.id } });
  if (!found) throw new NotFoundError("Conversation");
  return found;
}

/**
 * A page of the viewer's conversations, most recently active first, filtered by archived state. Keyset
 * pages in both directions: Prisma answers a negative `take` (`last`/`before`) without a LIMIT, reading every
 * conversation after the cursor, so backward pages read newest-last with a LIMIT and are turned around.
 */
export async function listConversations(
  ctx: Context,
  args: { archived?: boolean | null; first?: number | null; last?: number | null },
  query: PageQuery,
) {
  const viewer = requireViewer(ctx);
  checkPageSize(args);
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  const where: Prisma.ConversationWhereInput = {
    ownerId: viewer.id,
    archivedAt: archivedFilter(args.archived),
  };
  let at: { activityAt: Date; id: string } | null = null;
  if (from !== null) {
    at = await ctx.prisma.conversation.findFirst({
      where: { id: from, ownerId: viewer.id },
      select: { activityAt: true, id: true },
    });
    if (!at) throw staleCursor();
  }
  // `skip` is 1 when the cursor's own row is left out (Pothos pages past it), 0 when it is included.
  const strict = skip > 0;
  if (take >= 0) {
    return ctx.prisma.conversation.findMany({
      ...selection,
      where: at === null ? where : { ...where, ...beyond(at, "older", strict) },
      orderBy: RECENT_FIRST,
      take,
    });
  }
  const rows = await ctx.prisma.conversation.findMany({
    ...selection,
    where: at === null ? where : { ...where, ...beyond(at, "newer", strict) },
    orderBy: [{ activityAt: "asc" }, { id: "asc" }],
    take: -take,
  });
  return rows.reverse();
}

/**
 * Conversations beyond `at` in the list's order: `older` (less recently active, then smaller id) for forward
 * pages, newer for backward ones; `at` itself too unless `strict`.
 */
function beyond(
  at: { activityAt: Date; id: string },
  direction: "older" | "newer",
  strict: boolean,
): Prisma.ConversationWhereInput {
  const after = direction === "older" ? "lt" : "gt";
  const afterOrAt = direction === "older" ? "lte" : "gte";
  return {
    OR: [
      { activityAt: { [after]: at.activityAt } },
      { activityAt: at.activityAt, id: { [strict ? after : afterOrAt]: at.id } },
    ],
  };
}

/** How many conversations the viewer has in the given archived state. */
export function countConversations(ctx: Context, archived: boolean | null | undefined) {
  const viewer = requireViewer(ctx);
  return ctx.prisma.conversation.count({
    where: { ownerId: viewer.id, archivedAt: archivedFilter(archived) },
  });
}

/** Starts an empty conversation owned by the viewer. */
export function createConversation(ctx: Context, input: { title?: string | null }) {
  const viewer = requireViewer(ctx);
  const title =
    input.title == null ? DEFAULT_TITLE : normalizeTitle(input.title, ctx.config.limits.titleLength);
  return ctx.prisma.conversation.create({ data: { ownerId: viewer.id, title } });
}

/** Renames one of the viewer's conversations. */
export async function renameConversation(ctx: Context, input: { id: string; title: string }) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(input.id, "Conversation");
  const title = normalizeTitle(input.title, ctx.config.limits.titleLength);
  return updateOwned(ctx, viewer.id, id, { title });
}

/**
 * Archives or unarchives one of the viewer's conversations. Idempotent: archiving an archived conversation
 * keeps its original `archivedAt`.
 */
export async function setArchived(ctx: Context, globalId: string, archived: boolean) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  const where = { id, ownerId: viewer.id };
  await ctx.prisma.conversation.updateMany({
    where: { ...where, archivedAt: archived ? null : { not: null } },
    data: { archivedAt: archived ? new Date() : null },
  });
  const conversation = await ctx.prisma.conversation.findFirst({ where });
  if (!conversation) throw new NotFoundError("Conversation");
  return conversation;
}

/** Deletes one of the viewer's conversations with its messages and tool calls (cascade); returns its id. */
export async function deleteConversation(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  const owned = await ctx.prisma.conversation.count({ where: { id, ownerId: viewer.id } });
  if (owned === 0) throw new NotFoundError("Conversation");
  // The running reply ends (CANCELLED) and is saved before its rows go.
  await ctx.runs.stopConversation(id);
  const { count } = await ctx.prisma.conversation.deleteMany({ where: { id, ownerId: viewer.id } });
  if (count === 0) throw new NotFoundError("Conversation");
  return id;
}

async function updateOwned(ctx: Context, ownerId: string, id: string, data: Prisma.ConversationUpdateInput) {
  try {
    return await ctx.prisma.conversation.update({ where: { id, ownerId }, data });
  } catch (error) {
    if (isRecordNotFound(error)) throw new NotFoundError("Conversation");
    throw error;
  }
}
