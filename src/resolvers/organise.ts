import { BadUserInputError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import * as conversations from "../db/conversations.js";
import * as feedback from "../db/feedback.js";
import type { FeedbackRating } from "../db/generated/prisma/client.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { updated } from "./viewer-events.js";

/** At most this many tags on one conversation. */
export const MAX_TAGS = 20;
/** At most this many characters in one tag (after normalising). */
export const MAX_TAG_LENGTH = 50;
/** At most this many characters in a feedback comment (after trimming). */
export const MAX_FEEDBACK_COMMENT_LENGTH = 2000;

// C0/C1 control characters (U+0000 among them) except tab and newline are refused in a tag or a comment:
// invisible, and trouble for the terminals and logs that later show them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * One tag as it is stored and matched: Unicode NFC, trimmed, inner whitespace runs made one space, and
 * lower-cased, so "Work", " work " and "WORK" are one tag (tags are labels, and a case-insensitive set that
 * kept the first spelling would make the `tag` filter and the counts depend on who wrote first). Refuses an
 * empty tag, a control character (U+0000 among them) and one longer than {@link MAX_TAG_LENGTH}.
 */
export function normalizeTag(raw: string, field = "tags"): string {
  if (CONTROL.test(raw)) throw new BadUserInputError("A tag must not contain control characters", field);
  const tag = raw.normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();
  if (tag.length === 0) throw new BadUserInputError("A tag must not be empty", field);
  if (tag.length > MAX_TAG_LENGTH)
    throw new BadUserInputError(`A tag must be at most ${MAX_TAG_LENGTH} characters`, field);
  return tag;
}

/**
 * A conversation's tag set: each tag normalised ({@link normalizeTag}), duplicates after normalising
 * dropped, the first occurrence's place kept; at most {@link MAX_TAGS} distinct tags.
 */
export function normalizeTags(raw: readonly string[]): string[] {
  const tags = [...new Set(raw.map((tag) => normalizeTag(tag)))];
  if (tags.length > MAX_TAGS)
    throw new BadUserInputError(`A conversation has at most ${MAX_TAGS} tags`, "tags");
  return tags;
}

/** The tag a list is filtered by, normalised like stored tags (so any spelling finds it). */
export function tagFilter(raw: string | null | undefined): string | undefined {
  return raw == null ? undefined : normalizeTag(raw, "tag");
}

/**
 * Pins or unpins one of the viewer's conversations: pinned ones list first, newest pin first. Idempotent:
 * pinning again keeps the original `pinnedAt`.
 */
export async function setPinned(ctx: Context, globalId: string, pinned: boolean) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Conversation");
  return updated(ctx, await conversations.setConversationPinned(ctx.prisma, viewer.id, id, pinned));
}

/** Replaces the tags of one of the viewer's conversations; invalid tags refuse the whole set. */
export async function setTags(ctx: Context, input: { id: string; tags: readonly string[] }) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(input.id, "Conversation");
  const tags = normalizeTags(input.tags);
  return updated(ctx, await conversations.setConversationTags(ctx.prisma, viewer.id, id, tags));
}

/** The viewer's tags with their conversation counts, most used first. */
export function viewerTags(ctx: Context, archived: boolean | null | undefined) {
  const viewer = requireViewer(ctx);
  return conversations.tagCounts(ctx.prisma, viewer.id, Boolean(archived));
}

/** A feedback comment fit to store: trimmed, null when empty, refused when too long or with U+0000. */
function normalizeComment(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  if (CONTROL.test(raw))
    throw new BadUserInputError("The comment must not contain control characters", "comment");
  const comment = raw.trim();
  if (comment.length > MAX_FEEDBACK_COMMENT_LENGTH)
    throw new BadUserInputError(
      `The comment must be at most ${MAX_FEEDBACK_COMMENT_LENGTH} characters`,
      "comment",
    );
  return comment.length === 0 ? null : comment;
}

/**
 * Rates one of the viewer's assistant messages (UP or DOWN, with an optional comment), replacing an earlier
 * rating; a null rating removes it (a comment then is refused). Other roles are BAD_USER_INPUT; a message
 * that is missing or someone else's is NOT_FOUND.
 */
export async function rateMessage(
  ctx: Context,
  input: { messageId: string; rating: FeedbackRating | null; comment: string | null },
) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(input.messageId, "Message", "messageId");
  const comment = normalizeComment(input.comment);
  if (input.rating === null && comment !== null)
    throw new BadUserInputError("A comment needs a rating", "comment");
  const role = await feedback.roleOfOwnedMessage(ctx.prisma, viewer.id, id);
  if (role === null) throw new NotFoundError("Message");
  if (role !== "ASSISTANT")
    throw new BadUserInputError("Only the assistant's messages can be rated", "messageId");
  if (input.rating === null) await feedback.clearMessageRating(ctx.prisma, viewer.id, id);
  else await feedback.rateMessage(ctx.prisma, viewer.id, id, { rating: input.rating, comment });
  const message = await feedback.findOwnedMessage(ctx.prisma, viewer.id, id);
  if (!message) throw new NotFoundError("Message");
  return message;
}
