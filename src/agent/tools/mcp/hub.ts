import { ErrorCode, McpError, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ToolSpec } from "../../model/provider.js";
import {
  type ApprovalPolicy,
  policyRequiresApproval,
  type ToolAddress,
  type Toolbox,
  type ToolCallContext,
  type ToolOutput,
  type ToolServerInfo,
} from "../tools.js";
import {
  McpConnection,
  type McpConnectionOptions,
  type McpServerStatus,
  ToolServerUnavailableError,
  type TransportFactory,
} from "./connection.js";
import { resultText } from "./content.js";
import { userMeta } from "./identity.js";
import { addressModelName, toolModelName } from "./names.js";
import { AuthorizationRequiredError, type OAuthDeps, OAuthToolServer } from "./oauth.js";

/** A server the hub connects to: its name (the namespace of its tools) and how to reach it. */
export interface McpServerEntry {
  name: string;
  transport: TransportFactory;
  /** Which of its calls wait for the user's approval (default `never`). */
  approval?: ApprovalPolicy;
  /** Reached with each user's own OAuth tokens at this URL (`"auth": "oauth"`) instead of `transport`. */
  oauthUrl?: string;
}

type Provider = McpConnection | OAuthToolServer;

/** Settings shared by the hub's connections. */
export type McpHubOptions = Omit<McpConnectionOptions, "onToolsChanged"> & {
  /** For servers with `"auth": "oauth"`. */
  oauth?: OAuthDeps;
};

/**
 * The agent's toolbox over MCP: one {@link McpConnection} per configured server, their tools offered to
 * the model as `server__tool`, and calls routed to the server with the acting user's identity in the
 * request `_meta`. A server that is down simply offers no tools until it is back.
 */
export class McpHub implements Toolbox {
  private readonly connections: McpConnection[];
  private readonly oauthServers: OAuthToolServer[];
  private readonly policies: Map<string, ApprovalPolicy>;
  private index = new Map<string, { connection: Provider; tool: Tool }>();

  constructor(servers: McpServerEntry[], options: McpHubOptions) {
    const onToolsChanged = () => this.reindex();
    this.connections = servers
      .filter((s) => s.oauthUrl === undefined)
      .map((s) => new McpConnection(s.name, s.transport, { ...options, onToolsChanged }));
    const oauth = options.oauth;
    this.oauthServers = servers.flatMap((s) => {
      if (s.oauthUrl === undefined) return [];
      if (!oauth) throw new Error(`the tool server "${s.name}" uses OAuth, which needs TOOL_TOKEN_KEY`);
      return [new OAuthToolServer(s.name, s.oauthUrl, oauth, onToolsChanged)];
    });
    this.policies = new Map(servers.map((s) => [s.name, s.approval ?? "never"]));
  }

  /** Connects to every server; resolves once each has made its first attempt (failed ones keep retrying). */
  async start(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.start()));
  }

  /** Each server's connection state, for `/readyz`. */
  status(): Record<string, McpServerStatus> {
    return Object.fromEntries(this.connections.map((c) => [c.name, c.status()]));
  }

  list(): ToolSpec[] {
    return [...this.index.entries()]
      .filter(([, { connection }]) => connection instanceof OAuthToolServer || connection.ready)
      .map(([name, { tool }]) => ({
        name,
        description: tool.description ?? tool.title,
        parameters: tool.inputSchema as Record<string, unknown>,
      }));
  }

  /** Also the tools of a server that is down: calling one then says it is unavailable. */
  resolve(name: string): ToolAddress | undefined {
    const entry = this.index.get(name);
    return entry ? { server: entry.connection.name, name: entry.tool.name } : undefined;
  }

  modelName(address: ToolAddress): string {
    return addressModelName(address);
  }

  requiresApproval(address: ToolAddress): boolean {
    const policy = this.policies.get(address.server) ?? "never";
    const tool = this.index.get(this.modelName(address))?.tool;
    return policyRequiresApproval(policy, address.name, tool?.annotations?.readOnlyHint === true);
  }

  async servers(userId: string): Promise<ToolServerInfo[]> {
    const info = (name: string, status: ToolServerInfo["status"], tools: readonly Tool[]) => ({
      name,
      status,
      tools: tools.map((tool) => ({
        name: tool.name,
        description: tool.description ?? tool.title ?? null,
        requiresApproval: this.requiresApproval({ server: name, name: tool.name }),
      })),
    });
    const shared = this.connections.map((c) => info(c.name, c.ready ? "CONNECTED" : "UNAVAILABLE", c.tools));
    const own = await Promise.all(
      this.oauthServers.map(async (s) => {
        if (!(await s.isAuthorized(userId))) return info(s.name, "NEEDS_AUTHORIZATION", s.tools);
        const tools = await s.listTools(userId).catch(() => null);
        return tools ? info(s.name, "CONNECTED", tools) : info(s.name, "UNAVAILABLE", s.tools);
      }),
    );
    return [...shared, ...own];
  }

  async authorizationNeeded(address: ToolAddress, userId: string): Promise<boolean> {
    const server = this.oauthServers.find((s) => s.name === address.server);
    return server ? !(await server.isAuthorized(userId)) : false;
  }

  async authorize(server: string, userId: string): Promise<string | null> {
    return this.oauthServer(server).authorize(userId);
  }

  async completeAuthorization(server: string, userId: string, code: string): Promise<void> {
    await this.oauthServer(server).complete(userId, code);
  }

  async disconnect(server: string, userId: string): Promise<boolean> {
    return this.oauthServer(server).disconnect(userId);
  }

  async prepare(userId: string): Promise<void> {
    const unknown = this.oauthServers.filter((s) => s.tools.length === 0);
    await Promise.all(
      unknown.map(async (s) => {
        if (await s.isAuthorized(userId)) await s.listTools(userId).catch(() => undefined);
      }),
    );
  }

  /** Whether a server of this name is configured, and whether it is reached with the user's own authorization. */
  serverKind(server: string): "shared" | "oauth" | null {
    if (this.oauthServers.some((s) => s.name === server)) return "oauth";
    return this.connections.some((c) => c.name === server) ? "shared" : null;
  }

  private oauthServer(name: string): OAuthToolServer {
    const server = this.oauthServers.find((s) => s.name === name);
    if (!server) throw new Error(`no OAuth tool server named "${name}"`);
    return server;
  }

  async call(name: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput> {
    const entry = this.index.get(name);
    if (!entry) return { content: `Unknown tool "${name}"`, isError: true };
    try {
      const options = {
        meta: userMeta(context.userId),
        signal: context.signal,
        timeoutMs: context.timeoutMs,
      };
      const result =
        entry.connection instanceof OAuthToolServer
          ? await entry.connection.call(context.userId, entry.tool.name, args, options)
          : await entry.connection.call(entry.tool.name, args, options);
      return { content: resultText(result), isError: result.isError === true };
    } catch (error) {
      return { content: failureText(error, context), isError: true };
    }
  }

  /** Disconnects from every server. */
  async close(): Promise<void> {
    await Promise.all([...this.connections, ...this.oauthServers].map((c) => c.close()));
    this.index.clear();
  }

  private reindex(): void {
    const index = new Map<string, { connection: Provider; tool: Tool }>();
    for (const connection of [...this.connections, ...this.oauthServers]) {
      for (const tool of connection.tools)
        index.set(toolModelName(connection.name, tool.name), { connection, tool });
    }
    this.index = index;
  }
}

/** A failed call, told to the model in a way it can act on. */
function failureText(error: unknown, context: ToolCallContext): string {
  if (context.signal.aborted) return "The call was cancelled because the reply was stopped.";
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout)
    return `The tool did not answer within ${context.timeoutMs} ms; the call was cancelled.`;
  if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed)
    return "The connection to the tool server closed before the tool answered; it may or may not have run.";
  if (error instanceof AuthorizationRequiredError)
    return `The user has not authorized this tool server (${error.message}); ask them to connect it, then try again.`;
  if (error instanceof ToolServerUnavailableError)
    return `The tool is unavailable right now: ${error.message}.`;
  if (error instanceof McpError) return `The tool server answered with an error: ${error.message}`;
  return `The call failed: ${error instanceof Error ? error.message : String(error)}`;
}
