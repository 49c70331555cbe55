import type { Db } from "./client.js";
import type { AttachmentKind, MessageRole, Prisma, ToolCallStatus } from "./generated/prisma/client.js";

/** A tool call as a share shows it: what was called and what came back, nothing that leads to the owner. */
export interface SharedToolCallSnapshot {
  name: string;
  arguments: Prisma.JsonValue;
  /** Null while the call had not come back when the link was made (the owner had not seen a result). */
  result: string | null;
  isError: boolean;
}

/** A file sent with a shared message: its bytes are served by a signed link made when the share is read. */
export interface SharedAttachmentSnapshot {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  kind: AttachmentKind;
}

/** One message of a share's snapshot (the JSON in `Share.messages`). */
export interface SharedMessageSnapshot {
  role: MessageRole;
  content: string;
  /** ISO 8601. */
  createdAt: string;
  toolCalls: SharedToolCallSnapshot[];
  /** Absent from snapshots made before shares kept their files. */
  attachments?: SharedAttachmentSnapshot[];
}

/** Calls whose result the owner had not been shown when the link was made. */
const UNSEEN: ToolCallStatus[] = ["AWAITING_APPROVAL", "RUNNING"];

/** Why a share could not be made: the message is missing or someone else's, or not on the active path. */
export type ShareRefusal = "not-found" | "off-path";

/**
 * Makes a share of the owner's conversation: the active path from its root up to `upToMessageId`, copied
 * (user and assistant messages, their tool calls with the results the owner saw; no ids, reasoning or
 * errors) into the share row. Returns the share, or why it could not be made.
 */
export async function createShare(
  db: Db,
  ownerId: string,
  input: { conversationId: string; upToMessageId: string; tokenHash: string },
) {
  const upTo = await db.message.findFirst({
    where: { id: input.upToMessageId, conversationId: input.conversationId, ownerId },
    select: { depth: true, onActivePath: true, conversation: { select: { title: true } } },
  });
  if (!upTo) return "not-found" satisfies ShareRefusal;
  if (!upTo.onActivePath) return "off-path" satisfies ShareRefusal;
  const path = await db.message.findMany({
    where: {
      conversationId: input.conversationId,
      onActivePath: true,
      depth: { lte: upTo.depth },
      role: { in: ["USER", "ASSISTANT"] },
    },
    orderBy: { depth: "asc" },
    select: {
      role: true,
      content: true,
      createdAt: true,
      toolCalls: {
        orderBy: { position: "asc" },
        select: { name: true, arguments: true, result: true, isError: true, status: true },
      },
      attachments: {
        orderBy: { position: "asc" },
        select: {
          attachment: { select: { id: true, filename: true, contentType: true, size: true, kind: true } },
        },
      },
    },
  });
  const messages: SharedMessageSnapshot[] = path.map((m) => ({
    role: m.role,
    content: m.content,
    createdAt: m.createdAt.toISOString(),
    toolCalls: m.toolCalls.map((call) => ({
      name: call.name,
      arguments: call.arguments,
      result: UNSEEN.includes(call.status) ? null : call.result,
      isError: call.isError,
    })),
    attachments: m.attachments.map((a) => a.attachment),
  }));
  return db.share.create({
    data: {
      ownerId,
      conversationId: input.conversationId,
      tokenHash: input.tokenHash,
      title: upTo.conversation.title,
      messages: messages as unknown as Prisma.InputJsonValue,
    },
    select: { id: true, createdAt: true },
  });
}

/** Revokes one of the owner's shares; false when it is missing or someone else's. Revoking twice is fine. */
export async function revokeShare(db: Db, ownerId: string, id: string): Promise<boolean> {
  const share = await db.share.findFirst({ where: { id, ownerId }, select: { revokedAt: true } });
  if (!share) return false;
  if (share.revokedAt === null)
    await db.share.updateMany({ where: { id, ownerId, revokedAt: null }, data: { revokedAt: new Date() } });
  return true;
}

/** A page of shares as Pothos's `prismaConnection` asks for it: its selection, cursor, signed `take` and `skip`. */
export type SharePageQuery = {
  select?: Prisma.ShareSelect;
  include?: Prisma.ShareInclude;
  cursor?: Prisma.ShareWhereUniqueInput;
  take: number;
  skip: number;
};

/**
 * A page of the owner's share links that are not revoked, newest first: what a "shared links" screen lists
 * to revoke. Read through the (ownerId, createdAt) index; the snapshots are not read unless selected.
 */
export function listLiveShares(db: Db, ownerId: string, page: SharePageQuery) {
  return db.share.findMany({
    ...page,
    where: { ownerId, revokedAt: null },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
}

/** How many share links the owner has that are not revoked. */
export function countLiveShares(db: Db, ownerId: string) {
  return db.share.count({ where: { ownerId, revokedAt: null } });
}

/**
 * The snapshot a token's hash names, unless it was revoked; null otherwise (the two are not told apart). Its
 * files as the snapshot names them, some perhaps deleted since: readers look up those still there.
 */
export async function findLiveShare(db: Db, tokenHash: string) {
  const share = await db.share.findFirst({
    where: { tokenHash, revokedAt: null },
    select: { title: true, messages: true, createdAt: true },
  });
  if (!share) return null;
  const messages = share.messages as unknown as SharedMessageSnapshot[];
  return {
    title: share.title,
    createdAt: share.createdAt,
    messages: messages.map((m) => ({ ...m, attachments: m.attachments ?? [] })),
  };
}
