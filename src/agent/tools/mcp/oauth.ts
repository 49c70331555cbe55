import { randomBytes } from "node:crypto";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Db } from "../../../db/client.js";
import {
  deleteToolServerAuth,
  findToolServerAuthorization,
  findToolServerClient,
  findToolServerTokens,
  findToolServerVerifier,
  saveToolServerClient,
  saveToolServerTokens,
  saveToolServerVerifier,
  startToolServerAuthorization,
} from "../../../db/tool-server-auth.js";
import type { Logger } from "../../../observability/logger.js";
import { OAUTH_CALLBACK_PATH } from "./config.js";
import type { SecretBox } from "./sealed.js";

/** What every OAuth tool server needs from the process. */
export interface OAuthDeps {
  prisma: Db;
  box: SecretBox;
  logger: Logger;
  /** Where users' browsers reach this backend (PUBLIC_URL): the callback is under it. */
  publicUrl(): string;
  /** Adds the acting user's header to requests (the same as for other HTTP servers). */
  fetch?: typeof fetch;
}

/** A call to a server the user has not authorized (or whose authorization no longer works). */
export class AuthorizationRequiredError extends Error {
  override readonly name = "AuthorizationRequiredError";
}

/**
 * A Streamable HTTP tool server reached with each user's own OAuth tokens (MCP authorization: protected
 * resource metadata and authorization server discovery, dynamic client registration, PKCE; all through
 * the SDK's `auth`). Tokens are stored sealed per user and refreshed silently by the SDK's transport when
 * the server answers 401. One client per user, connected on first use.
 */
export class OAuthToolServer {
  /** The server's tools, as last listed for any user (the model is offered them; a call asks to authorize). */
  tools: Tool[] = [];
  private readonly clients = new Map<string, Promise<Client>>();
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly deps: OAuthDeps,
    private readonly onToolsChanged: () => void,
  ) {
    this.log = deps.logger.child({ mcpServer: name });
  }

  /** Whether the user has tokens for this server. */
  async isAuthorized(userId: string): Promise<boolean> {
    return (await findToolServerTokens(this.deps.prisma, userId, this.name)) !== null;
  }

  /**
   * Starts an authorization for the user: discovery, registration when needed, PKCE; returns the URL to
   * open in their browser, or null when their stored tokens already work (or were refreshed).
   */
  async authorize(userId: string): Promise<string | null> {
    const provider = this.provider(userId);
    await startToolServerAuthorization(this.deps.prisma, userId, this.name, provider.stateValue);
    const result = await auth(provider, { serverUrl: this.url, fetchFn: this.deps.fetch });
    if (result === "AUTHORIZED") return null;
    if (!provider.authorizationUrl) throw new Error("the authorization server gave no authorization URL");
    return provider.authorizationUrl;
  }

  /** Completes the authorization `state` names with the server's `code`; returns whose it was. */
  async complete(userId: string, code: string): Promise<void> {
    const provider = this.provider(userId);
    await auth(provider, { serverUrl: this.url, authorizationCode: code, fetchFn: this.deps.fetch });
    await this.drop(userId);
    // The tools as this user sees them: offered from now on.
    await this.listTools(userId).catch((error: unknown) =>
      this.log.warn({ err: error }, "could not list tools"),
    );
  }

  /** Forgets the user's tokens; returns whether there were any. */
  async disconnect(userId: string): Promise<boolean> {
    await this.drop(userId);
    return deleteToolServerAuth(this.deps.prisma, userId, this.name);
  }

  /** The user's view of the tools (and refreshes the list offered to the model). */
  async listTools(userId: string): Promise<Tool[]> {
    const client = await this.client(userId);
    const { tools } = await client.listTools();
    this.tools = tools;
    this.onToolsChanged();
    return tools;
  }

  /** Calls a tool as the user; throws {@link AuthorizationRequiredError} when they must authorize first. */
  async call(
    userId: string,
    name: string,
    args: Record<string, unknown>,
    options: { meta: Record<string, unknown>; signal: AbortSignal; timeoutMs: number },
  ): Promise<CallToolResult> {
    const client = await this.client(userId);
    try {
      return (await client.callTool({ name, arguments: args, _meta: options.meta }, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
      })) as CallToolResult;
    } catch (error) {
      if (isUnauthorized(error)) {
        await this.drop(userId);
        throw new AuthorizationRequiredError(`${this.name} needs the user's authorization again`);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.keys()].map((id) => this.drop(id)));
  }

  private async client(userId: string): Promise<Client> {
    let pending = this.clients.get(userId);
    if (!pending) {
      pending = this.connect(userId);
      this.clients.set(userId, pending);
      pending.catch(() => this.clients.delete(userId));
    }
    return pending;
  }

  private async connect(userId: string): Promise<Client> {
    if (!(await this.isAuthorized(userId)))
      throw new AuthorizationRequiredError(`${this.name} needs the user's authorization`);
    const transport = new StreamableHTTPClientTransport(new URL(this.url), {
      authProvider: this.provider(userId),
      fetch: this.deps.fetch,
    });
    const client = new Client({ name: "chat-backend", version: "1.0.0" });
    try {
      await client.connect(transport);
    } catch (error) {
      await client.close().catch(() => {});
      if (isUnauthorized(error))
        throw new AuthorizationRequiredError(`${this.name} needs the user's authorization again`);
      throw error;
    }
    return client;
  }

  private async drop(userId: string): Promise<void> {
    const pending = this.clients.get(userId);
    this.clients.delete(userId);
    const client = await pending?.catch(() => undefined);
    await client?.close().catch(() => {});
  }

  private provider(userId: string): UserOAuthProvider {
    return new UserOAuthProvider(this.deps, this.name, userId);
  }
}

/** The SDK's view of one user's authorization of one server: everything it stores goes to the database, sealed. */
class UserOAuthProvider implements OAuthClientProvider {
  /** Set when the SDK asks to send the user to the authorization server. */
  authorizationUrl: string | undefined;
  readonly stateValue = randomBytes(24).toString("base64url");

  constructor(
    private readonly deps: OAuthDeps,
    private readonly server: string,
    private readonly userId: string,
  ) {}

  get redirectUrl(): string {
    return new URL(OAUTH_CALLBACK_PATH, this.deps.publicUrl()).toString();
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "chat-backend",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state(): string {
    return this.stateValue;
  }

  async clientInformation(): Promise<OAuthClientInformationMixed | undefined> {
    const sealed = await findToolServerClient(this.deps.prisma, this.server);
    if (!sealed) return undefined;
    const info = JSON.parse(this.deps.box.open(sealed)) as OAuthClientInformationMixed & {
      redirect_uris?: string[];
    };
    // Registered for another address of this backend: register again.
    if (info.redirect_uris && !info.redirect_uris.includes(this.redirectUrl)) return undefined;
    return info;
  }

  async saveClientInformation(info: OAuthClientInformationMixed): Promise<void> {
    await saveToolServerClient(this.deps.prisma, this.server, this.deps.box.seal(JSON.stringify(info)));
  }

  async tokens(): Promise<OAuthTokens | undefined> {
    const sealed = await findToolServerTokens(this.deps.prisma, this.userId, this.server);
    return sealed ? (JSON.parse(this.deps.box.open(sealed)) as OAuthTokens) : undefined;
  }

  async saveTokens(tokens: OAuthTokens): Promise<void> {
    const sealed = this.deps.box.seal(JSON.stringify(tokens));
    await saveToolServerTokens(this.deps.prisma, this.userId, this.server, sealed);
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url.toString();
  }

  async saveCodeVerifier(verifier: string): Promise<void> {
    await saveToolServerVerifier(this.deps.prisma, this.userId, this.server, this.deps.box.seal(verifier));
  }

  async codeVerifier(): Promise<string> {
    const sealed = await findToolServerVerifier(this.deps.prisma, this.userId, this.server);
    if (!sealed) throw new Error("no authorization in progress");
    return this.deps.box.open(sealed);
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    if (scope === "all" || scope === "tokens")
      await deleteToolServerAuth(this.deps.prisma, this.userId, this.server);
  }
}

/** Whose authorization a callback's `state` completes, or null when it names none in progress. */
export function authorizationOf(prisma: Db, state: string) {
  return findToolServerAuthorization(prisma, state);
}

function isUnauthorized(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "UnauthorizedError" || /\b401\b|unauthorized/i.test(error.message))
  );
}
