import { createHash, randomBytes } from "node:crypto";
import { BadUserInputError, ClientError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { checkPageSize } from "../core/pagination.js";
import { findAttachmentFiles } from "../db/attachments.js";
import type { Db } from "../db/client.js";
import { findOwnedConversation } from "../db/conversations.js";
import { importTrees, insertImportedAttachments, type TreeConversation } from "../db/exchange.js";
import {
  countLiveShares,
  createShare,
  findLiveShare,
  listLiveShares,
  revokeShare as revokeOwnedShare,
  type SharePageQuery,
} from "../db/shares.js";
import type { AttachmentUrls } from "../http/attachment-urls.js";
import { requestInfo } from "../http/request-info.js";
import type { RateLimiter } from "../limits/rate-limiter.js";
import type { Logger } from "../observability/logger.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { tellViewer } from "./viewer-events.js";

/** Where a share link points: `<PUBLIC_URL>/share/<token>` answers the snapshot as JSON. */
export const SHARE_PATH = "/share/";

// 32 random bytes, base64url: 43 characters. Anything else names no share and is answered without a query.
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * `shareConversation`: a link to a snapshot of the viewer's conversation, its active path up to
 * `upToMessageId`. The token is returned once, in the link; only its sha256 is stored.
 */
export async function shareConversation(ctx: Context, input: { id: string; upToMessageId: string }) {
  const viewer = requireViewer(ctx);
  const conversationId = parseGlobalId(input.id, "Conversation");
  const upToMessageId = parseGlobalId(input.upToMessageId, "Message", "upToMessageId");
  if (!(await findOwnedConversation(ctx.prisma, viewer.id, conversationId)))
    throw new NotFoundError("Conversation");
  const token = randomBytes(32).toString("base64url");
  const share = await createShare(ctx.prisma, viewer.id, {
    conversationId,
    upToMessageId,
    tokenHash: hashOf(token),
  });
  if (share === "not-found") throw new NotFoundError("Message");
  if (share === "off-path")
    throw new BadUserInputError(
      "The message is not on the conversation's active path: switch to its branch first",
      "upToMessageId",
    );
  return {
    id: share.id,
    createdAt: share.createdAt,
    url: new URL(SHARE_PATH + token, ctx.publicUrl()).toString(),
  };
}

/** `revokeShare`: the link answers null from now on. NOT_FOUND for a share that is not the viewer's. */
export async function revokeShare(ctx: Context, globalId: string) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Share");
  if (!(await revokeOwnedShare(ctx.prisma, viewer.id, id))) throw new NotFoundError("Share");
  return id;
}

/**
 * The snapshot a share link's token (or the link itself) names, for anyone (no authentication), counted
 * against the client address's share reads; null when the token is unknown, malformed or revoked (not told
 * apart). Its files as the snapshot names them (by id): {@link readShare} turns them into links.
 */
async function findShare(
  deps: { prisma: Db; limits: RateLimiter; logger: Logger },
  request: Request,
  link: string,
) {
  await deps.limits.sharedRead(requestInfo(request, deps.logger).clientIp);
  // The whole link is taken too: its token is the last segment.
  const token = link.slice(link.lastIndexOf("/") + 1);
  if (!TOKEN.test(token)) return null;
  return findLiveShare(deps.prisma, hashOf(token));
}

/**
 * {@link findShare}, its files as download links signed now (the snapshot names them no other way). A file
 * the owner has deleted since is no longer listed, as in the conversation itself.
 */
export async function readShare(
  deps: { prisma: Db; limits: RateLimiter; logger: Logger; attachmentUrls: AttachmentUrls },
  request: Request,
  link: string,
) {
  const share = await findShare(deps, request, link);
  if (!share) return null;
  const kept = await sharedFiles(deps.prisma, share);
  // Valid for a while (ATTACHMENT_URL_TTL_SECONDS): a revoked share makes no more.
  return {
    ...share,
    messages: share.messages.map((m) => ({
      ...m,
      attachments: m.attachments
        .filter((a) => kept.has(a.id))
        .map(({ id, ...file }) => ({ ...file, url: deps.attachmentUrls.sign(id) })),
    })),
  };
}

/** The files a share's snapshot names that still exist, by id (none looked up when it names none). */
async function sharedFiles(db: Pick<Db, "attachment">, share: SharedSnapshot) {
  const ids = share.messages.flatMap((m) => m.attachments.map((a) => a.id));
  const files = ids.length === 0 ? [] : await findAttachmentFiles(db, ids);
  return new Map(files.map((file) => [file.id, file]));
}

/** `Query.sharedConversation`: {@link readShare} for GraphQL. */
export function sharedConversation(ctx: Context, token: string) {
  return readShare(ctx, ctx.request, token);
}

/**
 * `importSharedConversation`: a new conversation of the viewer's holding the shared snapshot, to continue
 * as their own. NOT_FOUND when the link is unknown or revoked.
 */
export async function importSharedConversation(ctx: Context, token: string) {
  const viewer = requireViewer(ctx);
  const share = await findShare(ctx, ctx.request, token);
  if (!share) throw new NotFoundError("Share");
  const quotaBytes = ctx.config.attachments.quotaBytes;
  // The files become the viewer's own attachments of the same bytes, counted against their quota. Looked up
  // in the import's transaction: those recorded are those still there.
  let files = new Map<string, SharedFile>();
  const [id] = await importTrees(
    ctx.prisma,
    viewer.id,
    async function* (tx) {
      files = await sharedFiles(tx, share);
      yield sharedTree(share, files, new Date());
    },
    async (tx, declared) => {
      const imported = declared.flatMap((d) => {
        const file = files.get(d.key);
        if (!file) return [];
        const { blobId, size, kind, contentType } = file;
        return [{ ...d, blobId, size, kind, contentType }];
      });
      if (!(await insertImportedAttachments(tx, viewer.id, imported, quotaBytes)))
        throw new ClientError(
          "BAD_USER_INPUT",
          `Import refused: its files would pass your storage quota of ${quotaBytes} bytes; delete attachments first`,
          { field: "token", limit: "attachmentQuota" },
        );
    },
  );
  const conversation = id && (await findOwnedConversation(ctx.prisma, viewer.id, id));
  if (!conversation) throw new NotFoundError("Conversation");
  tellViewer(ctx, { type: "ConversationCreated", conversationId: conversation.id });
  return conversation;
}

type SharedFile = Awaited<ReturnType<typeof findAttachmentFiles>>[number];
type SharedSnapshot = NonNullable<Awaited<ReturnType<typeof findLiveShare>>>;

/** A share's snapshot as a conversation to import: one path, with the files of `files` (those still there). */
function sharedTree(share: SharedSnapshot, files: Map<string, SharedFile>, now: Date): TreeConversation {
  return {
    title: share.title,
    createdAt: now,
    updatedAt: now,
    activityAt: now,
    archivedAt: null,
    pinnedAt: null,
    tags: [],
    activeLeafKey: share.messages.length > 0 ? String(share.messages.length - 1) : null,
    messages: share.messages.map((m, i) => {
      const createdAt = new Date(m.createdAt);
      return {
        key: String(i),
        parentKey: i === 0 ? null : String(i - 1),
        role: m.role,
        content: m.content,
        reasoning: null,
        status: "COMPLETE",
        error: null,
        model: null,
        usage: null,
        createdAt,
        updatedAt: createdAt,
        feedback: null,
        toolCalls: m.toolCalls.map((call, position) => ({
          round: 0,
          textOffset: 0,
          callId: `shared_${i}_${position}`,
          server: "shared",
          name: call.name,
          arguments: call.arguments as TreeConversation["messages"][number]["toolCalls"][number]["arguments"],
          result: call.result,
          isError: call.isError,
          status: call.result === null ? "CANCELLED" : call.isError ? "FAILED" : "COMPLETED",
          startedAt: createdAt,
          decidedAt: null,
          decision: null,
          completedAt: call.result === null ? null : createdAt,
        })),
        attachments: m.attachments.flatMap((a) => {
          const file = files.get(a.id);
          return file ? [{ key: file.id, filename: file.filename, sha256: file.sha256, createdAt: now }] : [];
        }),
      };
    }),
  };
}

/** `Viewer.shares`: a page of the viewer's share links that are not revoked, newest first. */
export function viewerShares(
  ctx: Context,
  args: { first?: number | null; last?: number | null },
  query: SharePageQuery,
) {
  const viewer = requireViewer(ctx);
  checkPageSize(args);
  return listLiveShares(ctx.prisma, viewer.id, query);
}

/** How many share links the viewer has that are not revoked (`Viewer.shares.totalCount`). */
export function countViewerShares(ctx: Context) {
  return countLiveShares(ctx.prisma, requireViewer(ctx).id);
}
