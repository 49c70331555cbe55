import type { RunEvent } from "../agent/runs/events.js";
import { BadUserInputError, ConflictError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { messageAttachmentIds } from "../db/attachments.js";
import { type ConversationSelection, findOwnedConversation } from "../db/conversations.js";
import { findOwnedMessage } from "../db/messages.js";
import { forkPath, switchToBranch } from "../db/tree.js";
import { checkAttachmentIds } from "./attachments.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { checkModel, checkSendInput } from "./send-input.js";
import { startSend } from "./send-message.js";
import { normalizeTitle } from "./text.js";
import { tellViewer } from "./viewer-events.js";

/** One of the viewer's messages by global id, or `NOT_FOUND` (missing and someone else's look the same). */
async function ownedMessage(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Message", "messageId");
  const message = await findOwnedMessage(ctx.prisma, viewer.id, id);
  if (!message) throw new NotFoundError("Message");
  return message;
}

/**
 * `editMessage`: a new version of one of the viewer's user messages (a sibling: same parent), answered and
 * streamed like `sendMessage`; the new branch becomes the active path. Nothing is deleted.
 */
export async function editMessage(
  ctx: Context,
  input: {
    messageId: string;
    content: string;
    clientMessageId?: string | null;
    model?: string | null;
    attachmentIds?: readonly string[] | null;
  },
): Promise<AsyncIterable<RunEvent>> {
  const given = input.attachmentIds ?? null;
  const checked = checkSendInput(input, ctx.config, given === null || given.length > 0);
  const message = await ownedMessage(ctx, input.messageId);
  if (message.role !== "USER") throw new BadUserInputError("Only a user message can be edited", "messageId");
  const attachmentIds =
    given === null
      ? await messageAttachmentIds(ctx.prisma, message.id)
      : await checkAttachmentIds(ctx, given);
  if (checked.content.trim() === "" && attachmentIds.length === 0)
    throw new BadUserInputError("Message must not be empty", "content");
  return startSend(ctx, {
    conversationId: message.conversationId,
    placement: message.parentId === null ? { kind: "root" } : { kind: "under", parentId: message.parentId },
    user: { content: checked.content, clientMessageId: checked.clientMessageId, attachmentIds },
    model: checked.model,
  });
}

/**
 * `regenerateReply`: a new version of one of the viewer's assistant replies (a sibling answering the same
 * user message), streamed like `sendMessage`; the new branch becomes the active path. The model defaults
 * to the one that wrote the reply.
 */
export async function regenerateReply(
  ctx: Context,
  input: { messageId: string; model?: string | null },
): Promise<AsyncIterable<RunEvent>> {
  const model = checkModel(input.model ?? null, ctx.config);
  const message = await ownedMessage(ctx, input.messageId);
  if (message.role !== "ASSISTANT" || message.parentId === null)
    throw new BadUserInputError("Only an assistant reply can be regenerated", "messageId");
  return startSend(ctx, {
    conversationId: message.conversationId,
    placement: { kind: "under", parentId: message.parentId },
    user: null,
    model: model ?? message.model,
  });
}

/**
 * `switchBranch`: the active path becomes root .. the message .. the newest leaf below it. `NOT_FOUND` for a
 * message that is missing or someone else's; `CONFLICT` when the path moved meanwhile.
 */
export async function switchBranch(ctx: Context, globalId: string, query: ConversationSelection) {
  const viewer = requireViewer(ctx);
  const message = await ownedMessage(ctx, globalId);
  const leaf = await switchToBranch(ctx.prisma, viewer.id, message.id);
  if (leaf === null) {
    if (!(await findOwnedMessage(ctx.prisma, viewer.id, message.id))) throw new NotFoundError("Message");
    throw new ConflictError("The conversation changed meanwhile; switch again");
  }
  const conversation = found(
    await findOwnedConversation(ctx.prisma, viewer.id, message.conversationId, query),
  );
  tellViewer(ctx, { type: "ConversationUpdated", conversationId: message.conversationId });
  return conversation;
}

/**
 * `forkConversation`: a new conversation of the viewer's holding a copy of the path root .. the message
 * (tool calls included), titled `title` or as the original.
 */
export async function forkConversation(
  ctx: Context,
  input: { messageId: string; title?: string | null },
  query: ConversationSelection,
) {
  const viewer = requireViewer(ctx);
  const title = input.title == null ? null : normalizeTitle(input.title, ctx.config.limits.titleLength);
  const message = await ownedMessage(ctx, input.messageId);
  const id = await forkPath(ctx.prisma, viewer.id, message.id, title);
  if (id === null) throw new NotFoundError("Message");
  tellViewer(ctx, { type: "ConversationCreated", conversationId: id });
  return found(await findOwnedConversation(ctx.prisma, viewer.id, id, query));
}

function found<T>(conversation: T | null): T {
  if (!conversation) throw new NotFoundError("Conversation");
  return conversation;
}
