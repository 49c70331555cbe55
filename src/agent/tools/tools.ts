import type { ToolSpec } from "../model/provider.js";

/** Who a tool call acts for and how long it may take. */
export interface ToolCallContext {
  /** The user who sent the message being answered: tools act for this user and no other. */
  userId: string;
  /** Aborts when the reply is stopped: the call is cancelled at the tool server too. */
  signal: AbortSignal;
  timeoutMs: number;
}

/** What a tool call returned, as text for the model. Failures are results too (`isError`), never throws. */
export interface ToolOutput {
  content: string;
  isError: boolean;
}

/** Where a tool the model named lives: the server that provides it and the tool's own name there. */
export interface ToolAddress {
  server: string;
  name: string;
}

/** How a server's tools are approved: never asked, always, by annotation (`auto`), or the tools listed. */
export type ApprovalPolicy = "never" | "always" | "auto" | { tools: string[] };

/** Whether a server can be used now (per user, once servers need the user's own authorization). */
export type ToolServerStatus = "CONNECTED" | "NEEDS_AUTHORIZATION" | "UNAVAILABLE";

/** A tool server as people see it: its state and its tools. */
export interface ToolServerInfo {
  name: string;
  status: ToolServerStatus;
  tools: { name: string; description: string | null; requiresApproval: boolean }[];
}

/**
 * The tools a reply may use: the agent's seam to tool servers (MCP, see `agent/mcp`). Tool names are the
 * ones offered to the model, unique across servers.
 */
export interface Toolbox {
  /** The tools available now, as offered to the model. */
  list(): ToolSpec[];
  /** The server and tool behind a name the model used, if it exists now. */
  resolve(name: string): ToolAddress | undefined;
  /** Runs a tool; failures, timeouts and cancellations come back as error results. */
  call(name: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput>;
  /** The name offered to the model for a server's tool, also for stored calls replayed into history. */
  modelName(address: ToolAddress): string;
  /** Whether a call of this tool waits for the user's approval (its server's policy). */
  requiresApproval(address: ToolAddress): boolean;
  /** Every configured server with its tools, as this user sees them. */
  servers(userId: string): Promise<ToolServerInfo[]>;
  /** Whether a call of this tool must wait for the user to authorize its server (OAuth) first. */
  authorizationNeeded(address: ToolAddress, userId: string): Promise<boolean>;
  /** Starts the user's authorization of a server: the URL to open, or null when it is already authorized. */
  authorize(server: string, userId: string): Promise<string | null>;
  /** Completes an authorization with the code the authorization server sent to the callback. */
  completeAuthorization(server: string, userId: string, code: string): Promise<void>;
  /** Forgets the user's authorization of a server; false when there was none. */
  disconnect(server: string, userId: string): Promise<boolean>;
  /** Whether a server of this name is configured ("oauth": reached with each user's own authorization). */
  serverKind(server: string): "shared" | "oauth" | null;
  /**
   * Before a reply's first model call: learns the tools of servers reached with the user's own
   * authorization that no one has listed since the start (nothing to do, and no statement, without them).
   */
  prepare(userId: string): Promise<void>;
}

/** Whether `policy` asks before a call of `tool`; `readOnly` is the tool's MCP `readOnlyHint`. */
export function policyRequiresApproval(policy: ApprovalPolicy, tool: string, readOnly: boolean): boolean {
  if (policy === "never") return false;
  if (policy === "always") return true;
  if (policy === "auto") return !readOnly;
  return policy.tools.includes(tool);
}
