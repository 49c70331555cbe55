import { type BlobRef, freeUnusedBlobs } from "./blobs.js";
import type { Db } from "./client.js";
import type { Attachment, AttachmentKind, Prisma } from "./generated/prisma/client.js";

/** A Prisma selection of attachments (Pothos's `query`). */
export type AttachmentSelection = Omit<Prisma.AttachmentFindManyArgs, "where" | "orderBy">;

/** What a new attachment records. */
export interface NewAttachment {
  ownerId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  kind: AttachmentKind;
  blobId: string;
}

/** Bytes the owner's attachments take against their quota: each counts its size, shared bytes or not. */
export async function usedBytes(db: Pick<Db, "attachment">, ownerId: string): Promise<number> {
  const { _sum } = await db.attachment.aggregate({ where: { ownerId }, _sum: { size: true } });
  return _sum.size ?? 0;
}

/** The first key of the per-owner locks of {@link lockQuota} (the second is the owner's hash). */
const QUOTA_LOCKS = 0x71756f74; // "quot"

/**
 * Makes the owner's attachment records wait for each other until the transaction it runs in ends: a check of
 * the quota after it sees every record committed before. (A statement reads a snapshot taken as it starts,
 * so two checking at once would each miss the other's rows and both fit.)
 */
export function lockQuota(db: Pick<Db, "$executeRaw">, ownerId: string) {
  return db.$executeRaw`SELECT pg_advisory_xact_lock(${QUOTA_LOCKS}, hashtext(${ownerId}))`;
}

/**
 * Records an attachment unless it would take the owner past `quotaBytes`; null when over. Behind the owner's
 * {@link lockQuota}, taken first in the same transaction.
 */
export async function insertAttachment(
  db: Db,
  attachment: NewAttachment,
  quotaBytes: number,
): Promise<Attachment | null> {
  const { ownerId, filename, contentType, size, sha256, kind, blobId } = attachment;
  const [, rows] = await db.$transaction([
    lockQuota(db, ownerId),
    db.$queryRaw<{ id: string }[]>`
    INSERT INTO "public"."Attachment" (id, "ownerId", filename, "contentType", size, sha256, kind, "blobId")
    SELECT gen_random_uuid(), ${ownerId}, ${filename}, ${contentType}, ${size}, ${sha256},
           ${kind}::"public"."AttachmentKind", ${blobId}::uuid
     WHERE (SELECT COALESCE(SUM(size), 0) FROM "public"."Attachment" WHERE "ownerId" = ${ownerId})
           + ${size} <= ${quotaBytes}
    RETURNING id::text AS id`,
  ]);
  const id = rows[0]?.id;
  return id === undefined ? null : db.attachment.findUnique({ where: { id } });
}

/** The attachments of these ids that still exist, whoever owns them, with their blobs (copies of shared files). */
export function findAttachmentFiles(db: Pick<Db, "attachment">, ids: string[]) {
  return db.attachment.findMany({
    where: { id: { in: ids } },
    select: {
      id: true,
      filename: true,
      contentType: true,
      size: true,
      sha256: true,
      kind: true,
      blobId: true,
    },
  });
}

/** One of the owner's attachments with its blob's address, or null (missing and someone else's alike). */
export function findOwnedAttachment(db: Db, ownerId: string, id: string) {
  return db.attachment.findFirst({
    where: { id, ownerId },
    include: { blob: { select: { id: true, sha256: true, store: true } } },
  });
}

/** An attachment with its blob's address, whoever owns it (downloads carry their own proof: a signature). */
export function findAttachment(db: Db, id: string) {
  return db.attachment.findUnique({
    where: { id },
    include: { blob: { select: { id: true, sha256: true, store: true } } },
  });
}

/** The ids among `ids` that are the owner's attachments. */
export async function ownedAttachmentIds(db: Db, ownerId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.attachment.findMany({ where: { id: { in: ids }, ownerId }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

/** The attachments of a message, in the order they were given. */
export async function messageAttachmentIds(db: Db, messageId: string): Promise<string[]> {
  const rows = await db.messageAttachment.findMany({
    where: { messageId },
    orderBy: { position: "asc" },
    select: { attachmentId: true },
  });
  return rows.map((r) => r.attachmentId);
}

/**
 * Links the owner's attachments to a message in the given order. An attachment deleted since it was checked
 * is left out rather than failing the send (the message was already saved).
 */
export async function linkAttachments(
  db: Db,
  ownerId: string,
  messageId: string,
  attachmentIds: string[],
): Promise<void> {
  if (attachmentIds.length === 0) return;
  await db.$executeRaw`
    INSERT INTO "public"."MessageAttachment" ("messageId", "attachmentId", position)
    SELECT ${messageId}::uuid, a.id, given.position
      FROM unnest(${attachmentIds}::uuid[]) WITH ORDINALITY AS given(id, position)
      JOIN "public"."Attachment" a ON a.id = given.id AND a."ownerId" = ${ownerId}
    ON CONFLICT DO NOTHING`;
}

/**
 * Deletes one of the owner's attachments; messages that sent it keep their text and lose the link. Its
 * bytes are freed when nothing else uses them. Null when there was none to delete.
 */
export async function deleteAttachment(db: Db, ownerId: string, id: string): Promise<BlobRef[] | null> {
  const deleted = await db.$queryRaw<{ blobId: string }[]>`
    DELETE FROM "public"."Attachment" WHERE id = ${id}::uuid AND "ownerId" = ${ownerId}
    RETURNING "blobId"::text AS "blobId"`;
  if (deleted.length === 0) return null;
  return freeUnusedBlobs(
    db,
    deleted.map((d) => d.blobId),
  );
}

/**
 * Within a conversation's deletion: deletes the attachments its messages sent that no message of another
 * conversation sent too (call before the messages go), and returns their blobs to free afterwards.
 */
export async function deleteConversationAttachments(
  db: Prisma.TransactionClient,
  conversationId: string,
): Promise<string[]> {
  const rows = await db.$queryRaw<{ blobId: string }[]>`
    DELETE FROM "public"."Attachment" a
     WHERE a.id IN (
             SELECT ma."attachmentId" FROM "public"."MessageAttachment" ma
               JOIN "public"."Message" m ON m.id = ma."messageId"
              WHERE m."conversationId" = ${conversationId}::uuid)
       AND NOT EXISTS (
             SELECT 1 FROM "public"."MessageAttachment" o
               JOIN "public"."Message" om ON om.id = o."messageId"
              WHERE o."attachmentId" = a.id AND om."conversationId" <> ${conversationId}::uuid)
    RETURNING a."blobId"::text AS "blobId"`;
  return [...new Set(rows.map((r) => r.blobId))];
}

/** The attachments sent with each of `messageIds`, in order, with their blobs' derived forms. */
export async function attachmentsForModel(db: Db, messageIds: string[]) {
  if (messageIds.length === 0) return [];
  return db.messageAttachment.findMany({
    where: { messageId: { in: messageIds } },
    orderBy: [{ messageId: "asc" }, { position: "asc" }],
    select: {
      messageId: true,
      attachment: {
        select: {
          id: true,
          filename: true,
          kind: true,
          contentType: true,
          blob: {
            select: {
              id: true,
              sha256: true,
              store: true,
              modelImage: true,
              modelImageWidth: true,
              modelImageHeight: true,
              modelText: true,
            },
          },
        },
      },
    },
  });
}

/** Keeps what the model is given for a blob, so later turns need not derive it again. */
export async function saveModelForm(
  db: Db,
  blobId: string,
  form:
    | { modelImage: Uint8Array<ArrayBuffer>; modelImageWidth: number; modelImageHeight: number }
    | { modelText: string },
): Promise<void> {
  await db.blob.updateMany({ where: { id: blobId }, data: form });
}
