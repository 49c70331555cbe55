import type { Db } from "../../db/client.js";
import { standingPermissions } from "../../db/tool-permissions.js";
import type { ToolAddress, Toolbox } from "../tools/tools.js";

/** `ToolCall.decision` of a call that waits only for its server's authorization (it runs once authorized). */
export const AWAITING_AUTHORIZATION = "awaiting authorization";

/** What deciding a round's waits needs of the loop. */
export interface WaitContext {
  prisma: Db;
  toolbox: Toolbox;
  userId: string;
  conversationId: string;
}

/** Which calls of a round wait, and why. */
export interface RoundWaits {
  /** The user is asked (`ToolApprovalRequested`): the server's policy asks and no standing permission holds. */
  asks: boolean[];
  /** The call waits: asked, or its server needs the user's authorization first. */
  waits: boolean[];
  /** The servers the user must authorize first, with the URL to do it (`ToolAuthorizationRequired`). */
  authorizations: Map<string, string>;
}

/**
 * Decides which of a round's calls wait. Approval: the server's policy asks and the user has no standing
 * permission for the tool in this conversation (read only when a call would ask, so replies without such
 * tools cost no statement). Authorization: the server is reached with the user's own account and they have
 * not authorized it; a server whose authorization cannot be started is left to fail its calls. Calls that
 * cannot run anyway (`error`) never wait.
 */
export async function roundWaits(
  o: WaitContext,
  planned: (ToolAddress & { error?: string })[],
): Promise<RoundWaits> {
  const { toolbox, prisma, userId, conversationId } = o;
  let asks = planned.map((p) => p.error === undefined && toolbox.requiresApproval(p));
  if (asks.some(Boolean)) {
    const allowed = await standingPermissions(prisma, userId, conversationId);
    asks = planned.map(
      (p, i) => asks[i] === true && !allowed.some((a) => a.server === p.server && a.tool === p.name),
    );
  }
  const waits = [...asks];
  const authorizations = new Map<string, string>();
  for (const [i, p] of planned.entries()) {
    if (p.error !== undefined || !(await toolbox.authorizationNeeded(p, userId))) continue;
    if (!authorizations.has(p.server)) {
      const url = await toolbox.authorize(p.server, userId).catch(() => null);
      if (url === null) continue;
      authorizations.set(p.server, url);
    }
    waits[i] = true;
  }
  return { asks, waits, authorizations };
}
