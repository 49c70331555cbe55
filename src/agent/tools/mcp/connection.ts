import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type CallToolResult, ErrorCode, McpError, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../../observability/logger.js";

/** Where a server's connection stands. */
export type McpServerState = "connecting" | "ready" | "failed" | "closed";

/** A server's state as `/readyz` reports it. */
export interface McpServerStatus {
  transport: TransportFactory["kind"];
  state: McpServerState;
  tools: number;
  /** Connection attempts that failed in a row. */
  failures: number;
  /** Why the server is not ready, while it is not. */
  error?: string;
  /** When the next attempt is due, while failed. */
  retryAt?: string;
}

/** Opens a fresh transport for each connection attempt. */
export interface TransportFactory {
  readonly kind: "stdio" | "http" | "in-process";
  open(): Transport;
  /** Detail to add to a failure, e.g., the last lines a stdio server wrote to stderr. */
  diagnostics?(): string | undefined;
}

/** Settings of every connection. */
export interface McpConnectionOptions {
  logger: Logger;
  /** Longest wait for a connection (initialize and tools/list), and for a ping's answer. */
  connectTimeoutMs: number;
  /** Backoff between failed attempts: doubling from `minMs` to `maxMs`, with jitter. */
  reconnect: { minMs: number; maxMs: number };
  /** How often a connected server is pinged to notice one that died quietly; 0 turns it off. */
  pingIntervalMs: number;
  /** Called whenever the server's tools change (connected, lost, `tools/list_changed`). */
  onToolsChanged(): void;
}

/** A tool call to a server that is not connected now. */
export class ToolServerUnavailableError extends Error {
  override readonly name = "ToolServerUnavailableError";
}

/**
 * The client side of one configured MCP server: connects, lists its tools (again on
 * `notifications/tools/list_changed`), pings it, and after any failure reconnects with backoff, forever,
 * until closed. Its failures never escape: they show in {@link status} and the log.
 */
export class McpConnection {
  private client: Client | undefined;
  /** The client of the attempt in progress, closed with the connection if it is closed meanwhile. */
  private candidate: Client | undefined;
  private connecting: Promise<void> | undefined;
  private toolList: Tool[] = [];
  private state: McpServerState = "connecting";
  private lastError: string | undefined;
  private failures = 0;
  private retryAt: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly transport: TransportFactory,
    private readonly o: McpConnectionOptions,
  ) {
    this.log = o.logger.child({ mcpServer: name });
  }

  /** Whether the server is connected now: only then are its tools offered. */
  get ready(): boolean {
    return this.state === "ready";
  }

  /**
   * The server's tools as last listed. They stay known while the server is down, so a call to one is
   * answered "unavailable" rather than "unknown"; only a connected server's tools are offered.
   */
  get tools(): readonly Tool[] {
    return this.toolList;
  }

  /** Starts connecting; resolves after the first attempt, whether it worked or not. */
  start(): Promise<void> {
    this.connect();
    return this.connecting ?? Promise.resolve();
  }

  /** The state for `/readyz`. */
  status(): McpServerStatus {
    return {
      transport: this.transport.kind,
      state: this.state,
      tools: this.ready ? this.toolList.length : 0,
      failures: this.failures,
      ...(this.state !== "ready" && this.lastError ? { error: this.lastError } : {}),
      ...(this.state === "failed" && this.retryAt ? { retryAt: new Date(this.retryAt).toISOString() } : {}),
    };
  }

  /**
   * Calls a tool. `signal` cancels it (the SDK sends `notifications/cancelled`), as does `timeoutMs`. A
   * request the server never received (it restarted and forgot the session, or refused the connection) is
   * sent again once over a fresh connection.
   */
  async call(
    tool: string,
    args: Record<string, unknown>,
    options: { meta: Record<string, unknown>; signal: AbortSignal; timeoutMs: number },
  ): Promise<CallToolResult> {
    const deadline = Date.now() + options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const client = this.client;
      if (!client || this.state !== "ready")
        throw new ToolServerUnavailableError(
          `the tool server "${this.name}" is not connected${this.lastError ? ` (${this.lastError})` : ""}`,
        );
      try {
        const result = await client.callTool(
          { name: tool, arguments: args, _meta: options.meta },
          undefined,
          {
            signal: options.signal,
            timeout: Math.max(1, deadline - Date.now()),
          },
        );
        return result as CallToolResult;
      } catch (error) {
        if (options.signal.aborted || !isConnectionFailure(error)) throw error;
        this.lost(client, error);
        if (attempt > 0 || !neverDelivered(error)) throw error;
        await this.connecting;
      }
    }
  }

  /** Disconnects for good (a stdio server's process is ended). */
  async close(): Promise<void> {
    this.state = "closed";
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    const clients = [this.client, this.candidate].filter((c): c is Client => c !== undefined);
    this.client = undefined;
    this.candidate = undefined;
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }

  /** Whether close() was called (also while an attempt was awaiting). */
  private isClosed(): boolean {
    return this.state === "closed";
  }

  private connect(): void {
    if (this.connecting || this.state === "closed") return;
    this.connecting = this.attempt();
  }

  private async attempt(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryAt = undefined;
    this.state = "connecting";
    const client = new Client(
      { name: "chat-backend", version: "0.1.0" },
      { listChanged: { tools: { autoRefresh: false, onChanged: () => void this.refreshTools(client) } } },
    );
    client.onclose = () => this.lost(client, new Error("the connection closed"));
    client.onerror = (error) => this.log.debug({ err: error }, "MCP transport error");
    this.candidate = client;
    try {
      await client.connect(this.transport.open(), { timeout: this.o.connectTimeoutMs });
      const tools = await listAllTools(client, this.o.connectTimeoutMs);
      this.candidate = undefined;
      this.connecting = undefined;
      if (this.isClosed()) {
        await client.close();
        return;
      }
      this.client = client;
      this.toolList = tools;
      this.state = "ready";
      this.failures = 0;
      this.lastError = undefined;
      this.schedulePing(client);
      this.log.info({ tools: tools.length }, "MCP server connected");
      this.o.onToolsChanged();
    } catch (error) {
      this.candidate = undefined;
      this.connecting = undefined;
      await client.close().catch(() => {});
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.state === "closed") return;
    this.state = "failed";
    this.failures++;
    const detail = this.transport.diagnostics?.();
    this.lastError = `${describe(error)}${detail ? `; stderr: ${detail}` : ""}`;
    const delay = backoff(this.failures, this.o.reconnect);
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
    this.log.warn(
      { error: this.lastError, failures: this.failures, retryInMs: delay },
      "MCP server unavailable; will retry",
    );
  }

  /** The connection of `client` broke: its tools go away and a new connection is tried at once. */
  private lost(client: Client, error: unknown): void {
    if (client !== this.client || this.state === "closed") return;
    this.client = undefined;
    clearTimeout(this.pingTimer);
    this.lastError = describe(error);
    this.state = "connecting";
    this.log.warn({ error: this.lastError }, "MCP server connection lost; reconnecting");
    this.o.onToolsChanged();
    void client.close().catch(() => {});
    this.connect();
  }

  private schedulePing(client: Client): void {
    if (this.o.pingIntervalMs === 0) return;
    this.pingTimer = setTimeout(async () => {
      try {
        await client.ping({ timeout: this.o.connectTimeoutMs });
        if (client === this.client) this.schedulePing(client);
      } catch (error) {
        this.lost(client, error);
      }
    }, this.o.pingIntervalMs);
    this.pingTimer.unref();
  }

  private async refreshTools(client: Client): Promise<void> {
    try {
      const tools = await listAllTools(client, this.o.connectTimeoutMs);
      if (client !== this.client) return;
      this.toolList = tools;
      this.log.info({ tools: tools.length }, "MCP server's tools changed");
      this.o.onToolsChanged();
    } catch (error) {
      this.log.warn({ error: describe(error) }, "could not list the MCP server's changed tools");
    }
  }
}

async function listAllTools(client: Client, timeout: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

/** Exponential backoff with jitter: about `minMs`, 2×, 4×… up to `maxMs`, each between half and all of it. */
function backoff(failures: number, { minMs, maxMs }: { minMs: number; maxMs: number }): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Whether an error means the connection (not just this request) is broken. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  if (error instanceof StreamableHTTPError) return error.code === 404;
  return error instanceof TypeError || (error instanceof Error && error.message === "Not connected");
}

/** Whether the server certainly never received the request: safe to send again. */
function neverDelivered(error: unknown): boolean {
  if (error instanceof StreamableHTTPError) return error.code === 404;
  return (error as { cause?: { code?: string } })?.cause?.code === "ECONNREFUSED";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code || cause?.message ? `${error.message} (${cause.code ?? cause.message})` : error.message;
}
