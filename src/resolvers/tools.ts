import { type ApprovalScope, decide } from "../agent/runs/approvals.js";
import { BadUserInputError, ConflictError, NotFoundError } from "../core/errors.js";
import { isUuid } from "../core/ids.js";
import type { Prisma } from "../db/generated/prisma/client.js";
import { listToolPermissions, revokeToolPermission } from "../db/tool-permissions.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

/** Longest reason a user may give with a decision. */
const MAX_REASON_LENGTH = 1_000;

/** `decideToolCall`'s input as the schema gives it. */
export interface DecideToolCallInput {
  toolCallId: string;
  approve: boolean;
  remember?: ApprovalScope | null;
  reason?: string | null;
}

/**
 * `decideToolCall`: approves or denies one of the viewer's calls that waits for approval, from any of their
 * devices, on any instance; the reply resumes once none of its calls waits. Another user's call is
 * `NOT_FOUND`, a call that no longer waits `CONFLICT`; neither writes anything.
 */
export async function decideToolCall(ctx: Context, input: DecideToolCallInput) {
  const viewer = requireViewer(ctx);
  if (!isUuid(input.toolCallId)) throw new BadUserInputError('"toolCallId" is not a valid ID', "toolCallId");
  if (input.reason != null && input.reason.length > MAX_REASON_LENGTH)
    throw new BadUserInputError(`"reason" is longer than ${MAX_REASON_LENGTH} characters`, "reason");
  const result = await decide(ctx.prisma, ctx.runs, {
    ownerId: viewer.id,
    toolCallId: input.toolCallId,
    approve: input.approve,
    remember: input.remember ?? "ONCE",
    reason: input.reason ?? null,
  });
  if (result.kind === "not-found") throw new NotFoundError("ToolCall");
  if (result.kind === "conflict")
    throw new ConflictError(`The tool call was already decided or ended (${result.status})`);
  return { toolCall: result.toolCall };
}

/** `revokeToolPermission`: removes one of the viewer's standing permissions; later calls ask again. */
export async function revokePermission(ctx: Context, id: string) {
  const viewer = requireViewer(ctx);
  if (!isUuid(id)) throw new BadUserInputError('"id" is not a valid ID', "id");
  if (!(await revokeToolPermission(ctx.prisma, viewer.id, id))) throw new NotFoundError("ToolPermission");
  return { revokedId: id };
}

/** `Viewer.toolPermissions`: the viewer's standing permissions, newest first. */
export function viewerToolPermissions(
  ctx: Context,
  query: { include?: Prisma.ToolPermissionInclude; select?: Prisma.ToolPermissionSelect },
) {
  return listToolPermissions(ctx.prisma, requireViewer(ctx).id, query);
}

/** The name of a server the viewer authorizes with their own account, or `NOT_FOUND`. */
function oauthServer(ctx: Context, server: string): string {
  if (ctx.runs.toolbox.serverKind(server) !== "oauth") throw new NotFoundError("ToolServer");
  return server;
}

/** `authorizeToolServer`: the URL where the viewer authorizes a server (null when already authorized). */
export async function authorizeToolServer(ctx: Context, server: string) {
  const viewer = requireViewer(ctx);
  return { authorizationUrl: await ctx.runs.toolbox.authorize(oauthServer(ctx, server), viewer.id) };
}

/** `disconnectToolServer`: forgets the viewer's tokens for a server. */
export async function disconnectToolServer(ctx: Context, server: string) {
  const viewer = requireViewer(ctx);
  await ctx.runs.toolbox.disconnect(oauthServer(ctx, server), viewer.id);
  return { server };
}

/** `Viewer.toolServers`: the configured tool servers, their state and tools. */
export function viewerToolServers(ctx: Context) {
  return ctx.runs.toolbox.servers(requireViewer(ctx).id);
}
