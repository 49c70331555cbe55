import { isIP } from "node:net";
import { z } from "zod";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const boolFlag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .optional()
  .transform((v) => (v === undefined ? undefined : ["true", "1", "yes"].includes(v)));

/**
 * Which `X-Forwarded-For` entries are believed, as Express's `trust proxy` does: none (`null`); those the
 * nearest `hops` proxies wrote; or those written by proxies at the given addresses or CIDR subnets.
 */
export type TrustProxy = { hops: number } | { subnets: string[] } | null;

const trustProxy = optionalString.transform((raw, ctx): TrustProxy => {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === "false" || value === "0" || value === "no") return null;
  // One proxy in front (a load balancer): the common case, and what `true` meant to an operator.
  if (value === "true" || value === "yes") return { hops: 1 };
  if (/^\d+$/.test(value)) return { hops: Number(value) };
  const subnets = value.split(",").map((s) => s.trim());
  const invalid = subnets.filter((s) => subnetOf(s) === null);
  if (invalid.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be true, false, a hop count or a list of proxy addresses/CIDRs (not ${invalid.join(", ")})`,
    });
    return z.NEVER;
  }
  return { subnets: subnets.map((s) => subnetOf(s) as string) };
});

/** `address` or `address/prefix` as `address/prefix`, or null when it is neither. */
function subnetOf(entry: string): string | null {
  const [address = "", prefix, ...rest] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const bits = version === 4 ? 32 : 128;
  if (prefix === undefined) return `${address}/${bits}`;
  if (!/^\d+$/.test(prefix) || Number(prefix) > bits) return null;
  return `${address}/${Number(prefix)}`;
}

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    HOST: z.string().min(1).default("0.0.0.0"),
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
        .optional(),
    ),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
    DATA_DIR: z.string().min(1).default("./.data"),
    MIGRATE_ON_START: boolFlag,
    REDIS_URL: optionalString,
    RUN_LEASE_MS: z.coerce.number().int().min(500).default(15_000),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
    OPENAI_MODEL: optionalString,
    OPENAI_MODELS: optionalString,
    OPENAI_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
    OPENAI_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    SYSTEM_PROMPT: optionalString,
    TITLE_GENERATION: boolFlag,
    TITLE_MODEL: optionalString,
    MAX_SYSTEM_PROMPT_LENGTH: z.coerce.number().int().min(1).default(20_000),
    HISTORY_TOKEN_BUDGET: z.coerce.number().int().min(100).default(16_000),
    HISTORY_MAX_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(200),
    STREAM_BUFFER_EVENTS: z.coerce.number().int().min(1).default(2_000),
    FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).default(250),
    AUTH_JWT_SECRET: optionalString.pipe(
      z.string().min(32, "must be at least 32 characters for HS256").optional(),
    ),
    AUTH_JWKS_URL: optionalString.pipe(z.url().optional()),
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    AUTH_DEV_MODE: boolFlag,
    MCP_CONFIG: optionalString,
    MCP_BUILTIN_TOOLS: boolFlag,
    MCP_HTTP: boolFlag,
    MCP_USER_HEADER: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, "must be an HTTP header name")
      .default("X-User-Id"),
    MCP_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    MCP_RECONNECT_MIN_MS: z.coerce.number().int().min(10).default(1_000),
    MCP_RECONNECT_MAX_MS: z.coerce.number().int().min(10).default(60_000),
    MCP_PING_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
    TOOL_MAX_ROUNDS: z.coerce.number().int().min(1).max(100).default(8),
    TOOL_CALL_TIMEOUT_MS: z.coerce.number().int().min(10).default(60_000),
    TOOL_RESULT_MAX_CHARS: z.coerce.number().int().min(100).default(20_000),
    TOOL_RESULT_STORE_MAX_CHARS: z.coerce.number().int().min(100).default(1_000_000),
    TOOL_RESULT_EVENT_MAX_CHARS: z.coerce.number().int().min(100).default(4_000),
    TOOL_APPROVAL_TIMEOUT_MS: z.coerce.number().int().min(100).default(600_000),
    TOOL_TOKEN_KEY: z
      .string()
      .refine(
        (v) => Buffer.from(v, "base64").length === 32,
        "must be 32 bytes, base64 (openssl rand -base64 32)",
      )
      .optional(),
    PUBLIC_URL: z.url().optional(),
    IMPORT_MAX_BYTES: z.coerce.number().int().min(1_024).default(52_428_800),
    EXPORT_LINK_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    EXPORT_LINK_TTL_SECONDS: z.coerce.number().int().min(10).default(3_600),
    RATE_LIMIT_SHARED_PER_MINUTE: z.coerce.number().int().min(1).default(60),
    GRAPHIQL: boolFlag,
    INTROSPECTION: boolFlag,
    MAX_MESSAGE_LENGTH: z.coerce.number().int().min(1).default(32_000),
    MAX_TITLE_LENGTH: z.coerce.number().int().min(1).default(200),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    MULTIPART_HEARTBEAT_MS: z.coerce.number().int().min(10).default(10_000),
    SEARCH_LANGUAGE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, "must name a text-search configuration, e.g. english, german, simple")
      .default("english"),
    MAX_REQUEST_BODY_BYTES: z.coerce.number().int().min(1_024).default(1_048_576),
    MAX_QUERY_CHARACTERS: z.coerce.number().int().min(100).default(10_000),
    MAX_QUERY_TOKENS: z.coerce.number().int().min(10).default(1_000),
    MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(10),
    MAX_QUERY_COST: z.coerce.number().int().min(1).default(50_000),
    MAX_QUERY_ALIASES: z.coerce.number().int().min(0).default(10),
    MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).default(10),
    RATE_LIMIT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
    RATE_LIMIT_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).default(20),
    RATE_LIMIT_CONCURRENT_REPLIES: z.coerce.number().int().min(1).default(3),
    RATE_LIMIT_TOKENS_PER_DAY: z.coerce.number().int().min(0).default(1_000_000),
    MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).default(10),
    STREAM_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(120_000),
    STREAM_MAX_DURATION_MS: z.coerce.number().int().min(1_000).default(1_800_000),
    REDIS_KEY_PREFIX: z.string().default("chat:"),
    TRUST_PROXY: trustProxy,
    CORS_ORIGINS: optionalString,
    PERSISTED_OPERATIONS_FILE: optionalString,
    PERSISTED_OPERATIONS_ONLY: boolFlag,
    METRICS: boolFlag,
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
    OTEL_SERVICE_NAME: z.string().min(1).default("chat-backend"),
    ATTACHMENT_STORE: z.enum(["database", "folder"]).default("database"),
    ATTACHMENT_DIR: optionalString,
    ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1).max(1_073_741_824).default(20_971_520),
    ATTACHMENTS_PER_MESSAGE: z.coerce.number().int().min(0).max(100).default(10),
    ATTACHMENT_QUOTA_BYTES: z.coerce.number().int().min(0).default(524_288_000),
    ATTACHMENT_URL_SECRET: optionalString.pipe(
      z.string().min(32, "must be at least 32 characters").optional(),
    ),
    ATTACHMENT_URL_TTL_SECONDS: z.coerce.number().int().min(10).default(3_600),
  })
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === "production";
    if (production && env.AUTH_DEV_MODE) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_DEV_MODE"],
        message: "is refused when NODE_ENV=production",
      });
    }
    if (production && !env.AUTH_JWT_SECRET && !env.AUTH_JWKS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWT_SECRET"],
        message: "AUTH_JWT_SECRET or AUTH_JWKS_URL is required when NODE_ENV=production",
      });
    }
    if (env.PERSISTED_OPERATIONS_ONLY && !env.PERSISTED_OPERATIONS_FILE) {
      ctx.addIssue({
        code: "custom",
        path: ["PERSISTED_OPERATIONS_FILE"],
        message: "is required when PERSISTED_OPERATIONS_ONLY=true",
      });
    }
    if (env.TOOL_RESULT_STORE_MAX_CHARS < env.TOOL_RESULT_MAX_CHARS) {
      ctx.addIssue({
        code: "custom",
        path: ["TOOL_RESULT_STORE_MAX_CHARS"],
        message: "must be at least TOOL_RESULT_MAX_CHARS (results are stored whole up to it)",
      });
    }
    if (env.MCP_RECONNECT_MAX_MS < env.MCP_RECONNECT_MIN_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["MCP_RECONNECT_MAX_MS"],
        message: "must be at least MCP_RECONNECT_MIN_MS",
      });
    }
    if (env.AUTH_JWT_SECRET && env.AUTH_JWKS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWKS_URL"],
        message: "set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both",
      });
    }
  });

/** Validated configuration, derived from the environment. */
export type Config = ReturnType<typeof loadConfig>;

/** Thrown when the environment holds an invalid setting; its message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads and validates the configuration; throws a {@link ConfigError} naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "environment"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  const devAuth = e.AUTH_DEV_MODE ?? (!production && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL);
  // A signing key every instance shares without being told: derived from the JWT secret, one per purpose.
  const sharedKey = (purpose: string) => (e.AUTH_JWT_SECRET ? `${purpose}:${e.AUTH_JWT_SECRET}` : undefined);
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, dataDir: e.DATA_DIR },
    migrateOnStart: e.MIGRATE_ON_START ?? true,
    redisUrl: e.REDIS_URL,
    /** Prepended to every Redis key and channel, so several deployments (or test runs) share one Redis. */
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    /** How long a running reply survives without a heartbeat from its instance (multi-instance mode). */
    runLeaseMs: e.RUN_LEASE_MS,
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseURL: e.OPENAI_BASE_URL,
      model: e.OPENAI_MODEL,
      /** Models a client may ask for with `sendMessage(model:)`; unset: any. */
      allowedModels: e.OPENAI_MODELS?.split(",")
        .map((m) => m.trim())
        .filter(Boolean),
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      idleTimeoutMs: e.OPENAI_IDLE_TIMEOUT_MS,
      maxRetries: e.OPENAI_MAX_RETRIES,
    },
    titles: {
      /** Whether the model names a conversation after its first reply (never with the offline demo model). */
      enabled: e.TITLE_GENERATION ?? true,
      /** The model asked for titles; unset: the default model. */
      model: e.TITLE_MODEL,
    },
    runs: {
      systemPrompt: e.SYSTEM_PROMPT,
      historyTokenBudget: e.HISTORY_TOKEN_BUDGET,
      historyMaxMessages: e.HISTORY_MAX_MESSAGES,
      eventBufferSize: e.STREAM_BUFFER_EVENTS,
      flush: { intervalMs: e.FLUSH_INTERVAL_MS },
      tools: {
        maxRounds: e.TOOL_MAX_ROUNDS,
        callTimeoutMs: e.TOOL_CALL_TIMEOUT_MS,
        resultMaxChars: e.TOOL_RESULT_MAX_CHARS,
        resultStoreMaxChars: e.TOOL_RESULT_STORE_MAX_CHARS,
        resultEventMaxChars: e.TOOL_RESULT_EVENT_MAX_CHARS,
        approvalTimeoutMs: e.TOOL_APPROVAL_TIMEOUT_MS,
      },
    },
    auth: {
      secret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      devMode: devAuth,
    },
    /** Where users' browsers reach this server (OAuth callbacks); unset: where it listens. */
    publicUrl: e.PUBLIC_URL,
    exchange: {
      /** Largest import file (`importConversations`), in bytes: the upload's request body may be this big. */
      importMaxBytes: e.IMPORT_MAX_BYTES,
      /**
       * The HMAC key of export download links. Several instances must share it: unset, it is derived from
       * AUTH_JWT_SECRET (as the attachments' is), and without that too each process picks a random one (links
       * then work only on the instance that made them, and until it restarts).
       */
      linkSecret: e.EXPORT_LINK_SECRET ?? sharedKey("exports"),
      /** How long an export download link works. */
      linkTtlSeconds: e.EXPORT_LINK_TTL_SECONDS,
    },
    tools: {
      /** The AES-256-GCM key (base64) that seals users' tool server tokens at rest. */
      tokenKey: e.TOOL_TOKEN_KEY,
    },
    mcp: {
      /** The `mcpServers` JSON file; unset: no external tool servers. */
      configPath: e.MCP_CONFIG,
      /** Whether our own agent gets the built-in server's tools (as server `chat`). */
      builtinTools: e.MCP_BUILTIN_TOOLS ?? false,
      /** Whether the built-in server is served over Streamable HTTP on `/mcp`. */
      http: e.MCP_HTTP ?? true,
      /** The header that carries the acting user's id to Streamable HTTP tool servers. */
      userHeader: e.MCP_USER_HEADER,
      connectTimeoutMs: e.MCP_CONNECT_TIMEOUT_MS,
      reconnect: { minMs: e.MCP_RECONNECT_MIN_MS, maxMs: e.MCP_RECONNECT_MAX_MS },
      pingIntervalMs: e.MCP_PING_INTERVAL_MS,
    },
    graphiql: e.GRAPHIQL ?? !production,
    introspection: e.INTROSPECTION ?? !production,
    limits: {
      messageLength: e.MAX_MESSAGE_LENGTH,
      titleLength: e.MAX_TITLE_LENGTH,
      systemPromptLength: e.MAX_SYSTEM_PROMPT_LENGTH,
      pageSize: 100,
    },
    /** Limits on the request and the GraphQL document, checked before anything runs. */
    operations: {
      maxBodyBytes: e.MAX_REQUEST_BODY_BYTES,
      maxCharacters: e.MAX_QUERY_CHARACTERS,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
    },
    /** Per-user (per-IP when anonymous) rates and quotas; shared through Redis when it is configured. */
    rateLimits: {
      requestsPerMinute: e.RATE_LIMIT_REQUESTS_PER_MINUTE,
      anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      /** Share links read (`sharedConversation`, `/share/<token>`) per client address a minute. */
      sharedPerMinute: e.RATE_LIMIT_SHARED_PER_MINUTE,
      messagesPerMinute: e.RATE_LIMIT_MESSAGES_PER_MINUTE,
      concurrentReplies: e.RATE_LIMIT_CONCURRENT_REPLIES,
      /** 0: no daily token quota. */
      tokensPerDay: e.RATE_LIMIT_TOKENS_PER_DAY,
      keyPrefix: e.REDIS_KEY_PREFIX,
    },
    streams: {
      perUser: e.MAX_STREAMS_PER_USER,
      idleTimeoutMs: e.STREAM_IDLE_TIMEOUT_MS,
      maxDurationMs: e.STREAM_MAX_DURATION_MS,
    },
    http: {
      /** Which X-Forwarded-For entries name the client (see `TrustProxy`). */
      trustProxy: e.TRUST_PROXY,
      /** Origins allowed by CORS; `["*"]` any; empty: no CORS headers at all. */
      corsOrigins:
        e.CORS_ORIGINS?.split(",")
          .map((o) => o.trim())
          .filter(Boolean) ?? (production ? [] : ["*"]),
    },
    persistedOperations: {
      file: e.PERSISTED_OPERATIONS_FILE,
      only: e.PERSISTED_OPERATIONS_ONLY ?? false,
    },
    metrics: e.METRICS ?? true,
    /** OpenTelemetry tracing over OTLP/HTTP; null: off. */
    tracing: e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME }
      : null,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    /** Heartbeat interval of subscriptions streamed with Apollo's multipart protocol. */
    multipartHeartbeatMs: e.MULTIPART_HEARTBEAT_MS,
    attachments: {
      /** Where uploaded bytes are kept: the database (shared by every instance) or a local folder. */
      store: e.ATTACHMENT_STORE,
      directory: e.ATTACHMENT_DIR ?? `${e.DATA_DIR}/attachments`,
      maxBytes: e.ATTACHMENT_MAX_BYTES,
      perMessage: e.ATTACHMENTS_PER_MESSAGE,
      /** Sum of the sizes of a user's attachments; 0: no uploads at all. */
      quotaBytes: e.ATTACHMENT_QUOTA_BYTES,
      /**
       * Signs download links. Several instances must share it: unset, it is derived from AUTH_JWT_SECRET, and
       * without that too each process picks a random one (links then work only on the instance that made them).
       */
      urlSecret: e.ATTACHMENT_URL_SECRET ?? sharedKey("attachments"),
      urlTtlSeconds: e.ATTACHMENT_URL_TTL_SECONDS,
    },
    search: {
      /** PostgreSQL text-search configuration of the search vectors and queries (src/db/search/language.ts). */
      language: e.SEARCH_LANGUAGE,
    },
  };
}
