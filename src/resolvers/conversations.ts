import { NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { checkPageSize } from "../core/pagination.js";
import type {
  ConversationFilter,
  ConversationPageQuery,
  ConversationSelection,
} from "../db/conversations.js";
import * as conversations from "../db/conversations.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { tagFilter } from "./organise.js";
import { normalizeTitle } from "./text.js";
import { tellViewer, updated } from "./viewer-events.js";

/** The title a conversation gets when its creator gives none. */
export const DEFAULT_TITLE = "New conversation";

/** A conversation the viewer asked for by id, or `NOT_FOUND` (missing and someone else's look the same). */
function found<T>(conversation: T | null): T {
  if (!conversation) throw new NotFoundError("Conversation");
  return conversation;
}

/** One of the viewer's conversations by global id; `NOT_FOUND` when missing or someone else's. */
export async function getConversation(ctx: Context, globalId: string, query: ConversationSelection) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  return found(await conversations.findOwnedConversation(ctx.prisma, viewer.id, id, query));
}

/** The arguments that choose which of the viewer's conversations a list shows (null: either way). */
export type ConversationFilterArgs = {
  archived?: boolean | null;
  pinned?: boolean | null;
  tag?: string | null;
};

/** The list's filter: not archived unless `archived`; `pinned` and `tag` only when given. */
function listFilter(args: ConversationFilterArgs): ConversationFilter {
  return {
    archived: Boolean(args.archived),
    ...(args.pinned != null && { pinned: args.pinned }),
    ...(args.tag != null && { tag: tagFilter(args.tag) }),
  };
}

/**
 * A page of the viewer's conversations, pinned first (newest pin first), then most recently active;
 * archived or not (`archived`), optionally only pinned or unpinned ones (`pinned`) or those with a tag.
 */
export async function listConversations(
  ctx: Context,
  args: ConversationFilterArgs & { first?: number | null; last?: number | null },
  query: ConversationPageQuery,
) {
  const viewer = requireViewer(ctx);
  checkPageSize(args);
  return conversations.listConversations(ctx.prisma, viewer.id, listFilter(args), query);
}

/** How many conversations the viewer has that the filter selects (see {@link listConversations}). */
export function countConversations(ctx: Context, args: ConversationFilterArgs) {
  const viewer = requireViewer(ctx);
  return conversations.countConversations(ctx.prisma, viewer.id, listFilter(args));
}

/** Starts an empty conversation owned by the viewer. */
export async function createConversation(ctx: Context, input: { title?: string | null }) {
  const viewer = requireViewer(ctx);
  const conversation =
    input.title == null
      ? await conversations.createConversation(ctx.prisma, viewer.id, DEFAULT_TITLE, "DEFAULT")
      : await conversations.createConversation(
          ctx.prisma,
          viewer.id,
          normalizeTitle(input.title, ctx.config.limits.titleLength),
          "USER",
        );
  tellViewer(ctx, { type: "ConversationCreated", conversationId: conversation.id });
  return conversation;
}

/** Renames one of the viewer's conversations. */
export async function renameConversation(ctx: Context, input: { id: string; title: string }) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(input.id, "Conversation");
  const title = normalizeTitle(input.title, ctx.config.limits.titleLength);
  return updated(ctx, await conversations.renameConversation(ctx.prisma, viewer.id, id, title));
}

/**
 * Archives or unarchives one of the viewer's conversations. Idempotent: archiving an archived conversation
 * keeps its original `archivedAt`.
 */
export async function setArchived(ctx: Context, globalId: string, archived: boolean) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  return updated(ctx, await conversations.setConversationArchived(ctx.prisma, viewer.id, id, archived));
}

/**
 * Deletes one of the viewer's conversations with its messages and tool calls (cascade), and the attachments
 * only it sent; returns its id.
 */
export async function deleteConversation(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  if (!(await conversations.ownsConversation(ctx.prisma, viewer.id, id)))
    throw new NotFoundError("Conversation");
  // The running reply ends (CANCELLED) and is saved before its rows go.
  await ctx.runs.stopConversation(id);
  const freed = await conversations.deleteConversation(ctx.prisma, viewer.id, id);
  if (freed === null) throw new NotFoundError("Conversation");
  tellViewer(ctx, { type: "ConversationDeleted", conversationId: id });
  await ctx.blobs.remove(freed);
  return id;
}
