import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../../../core/config.js";
import type { ApprovalPolicy } from "../tools.js";

/** What every configured server has, whatever its transport. */
interface ServerCommon {
  name: string;
  /** Which calls wait for the user's approval (absent: `never`). */
  approval?: ApprovalPolicy;
}

/** A tool server started as a child process, spoken to over its stdin/stdout. */
export interface StdioServerConfig extends ServerCommon {
  transport: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

/** A tool server reached over MCP's Streamable HTTP transport. */
export interface HttpServerConfig extends ServerCommon {
  transport: "http";
  /** `oauth`: reached with each user's own OAuth tokens (MCP authorization). */
  auth?: "oauth";
  url: string;
  headers: Record<string, string>;
}

/** One configured MCP server. */
export type McpServerConfig = StdioServerConfig | HttpServerConfig;

/** Thrown for an unreadable or invalid `mcpServers` file; the message names the file and each problem. */
export class McpConfigError extends ConfigError {}

/** The path of the OAuth callback this backend serves. */
export const OAUTH_CALLBACK_PATH = "/oauth/callback";

const stringMap = z.record(z.string(), z.string()).default({});

const serverSchema = z
  .object({
    type: z.enum(["stdio", "http", "streamable-http", "streamableHttp", "sse"]).optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: stringMap,
    cwd: z.string().min(1).optional(),
    url: z.url().optional(),
    headers: stringMap,
    disabled: z.boolean().default(false),
    approval: z
      .union([z.enum(["never", "always", "auto"]), z.object({ tools: z.array(z.string().min(1)) }).strict()])
      .default("never"),
    auth: z.literal("oauth").optional(),
  })
  .superRefine((s, ctx) => {
    if (s.type === "sse")
      ctx.addIssue({
        code: "custom",
        message: "the legacy HTTP+SSE transport is not supported; use Streamable HTTP (a `url`)",
      });
    else if (s.command && s.url)
      ctx.addIssue({ code: "custom", message: "give `command` or `url`, not both" });
    else if (s.auth && !s.url)
      ctx.addIssue({ code: "custom", message: '`"auth": "oauth"` needs a Streamable HTTP server (`url`)' });
    else if (!s.command && !s.url)
      ctx.addIssue({ code: "custom", message: "needs `command` (stdio) or `url` (Streamable HTTP)" });
  });

const fileSchema = z.object({ mcpServers: z.record(z.string().min(1), serverSchema) });

/**
 * Reads the `mcpServers` JSON file (the shape Claude Desktop, Cursor and VS Code use): stdio servers with
 * `command`, `args`, `env` (and `cwd`), Streamable HTTP servers with `url` and `headers`; `disabled: true`
 * skips one; `approval` (`never`, `always`, `auto`: unless the tool is annotated read-only, or
 * `{ "tools": [...] }`) says which calls wait for the user's approval. `${VAR}` and `${VAR:-default}` in strings are replaced from `env`, so secrets stay out of
 * the file. Throws a {@link McpConfigError} naming every problem.
 */
export function loadMcpConfig(path: string, env: NodeJS.ProcessEnv = process.env): McpServerConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new McpConfigError(`MCP_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseMcpConfig(raw, env, path);
}

/** Validates an already parsed `mcpServers` document; see {@link loadMcpConfig}. */
export function parseMcpConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  source = "MCP config",
): McpServerConfig[] {
  const missing = new Set<string>();
  const expanded = expandEnabledServers(raw, env, missing);
  if (missing.size > 0)
    throw new McpConfigError(
      `MCP_CONFIG: ${source} uses environment variables that are not set: ${[...missing].join(", ")}`,
    );
  const parsed = fileSchema.safeParse(expanded);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new McpConfigError(`MCP_CONFIG: invalid ${source}:\n${lines.join("\n")}`);
  }
  return Object.entries(parsed.data.mcpServers).flatMap(([name, s]): McpServerConfig[] => {
    if (s.disabled) return [];
    if (s.url)
      return [
        {
          transport: "http",
          name,
          url: s.url,
          headers: s.headers,
          approval: s.approval,
          ...(s.auth ? { auth: s.auth } : {}),
        },
      ];
    if (!s.command) return [];
    return [
      {
        transport: "stdio",
        name,
        approval: s.approval,
        command: s.command,
        args: s.args,
        env: s.env,
        ...(s.cwd ? { cwd: s.cwd } : {}),
      },
    ];
  });
}

/** The document with `${VAR}` references replaced in every string of the servers that are not disabled. */
function expandEnabledServers(raw: unknown, env: NodeJS.ProcessEnv, missing: Set<string>): unknown {
  const servers = (raw as { mcpServers?: unknown } | null)?.mcpServers;
  if (typeof servers !== "object" || servers === null) return raw;
  const expand = (value: unknown): unknown => {
    if (typeof value === "string")
      return value.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
        (_m, name: string, fallback?: string) => {
          const found = env[name];
          if (found !== undefined && found !== "") return found;
          if (fallback !== undefined) return fallback;
          missing.add(name);
          return "";
        },
      );
    if (Array.isArray(value)) return value.map(expand);
    if (typeof value === "object" && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
    return value;
  };
  const expanded = Object.entries(servers).map(([name, server]) => [
    name,
    (server as { disabled?: unknown })?.disabled === true ? server : expand(server),
  ]);
  return { ...(raw as object), mcpServers: Object.fromEntries(expanded) };
}
