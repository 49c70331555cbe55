import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/core/config.js";

describe("loadConfig", () => {
  it("defaults to the embedded database and development auth", () => {
    const config = loadConfig({});
    expect(config.database).toMatchObject({ url: undefined, dataDir: "./.data" });
    expect(config.auth.devMode).toBe(true);
    expect(config.port).toBe(4000);
    expect(config.graphiql).toBe(true);
  });

  it("names each bad variable", () => {
    expect(() => loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x" })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x" });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/DATABASE_URL: must be a postgres/);
    }
  });

  it("refuses development auth in production", () => {
    expect(() =>
      loadConfig({ NODE_ENV: "production", AUTH_DEV_MODE: "true", AUTH_JWT_SECRET: "x".repeat(32) }),
    ).toThrow(/AUTH_DEV_MODE/);
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL/);
  });

  it("turns off GraphiQL, introspection and dev auth in production", () => {
    const config = loadConfig({ NODE_ENV: "production", AUTH_JWT_SECRET: "x".repeat(32) });
    expect(config).toMatchObject({ graphiql: false, introspection: false, auth: { devMode: false } });
  });

  it("reads the multi-instance settings, refusing a lease too short to renew", () => {
    expect(loadConfig({})).toMatchObject({
      redisUrl: undefined,
      redisKeyPrefix: "chat:",
      runLeaseMs: 15_000,
    });
    const config = loadConfig({
      REDIS_URL: "redis://r:6379",
      REDIS_KEY_PREFIX: "prod:",
      RUN_LEASE_MS: "6000",
    });
    expect(config).toMatchObject({ redisUrl: "redis://r:6379", redisKeyPrefix: "prod:", runLeaseMs: 6_000 });
    expect(() => loadConfig({ RUN_LEASE_MS: "100" })).toThrow(/RUN_LEASE_MS/);
  });

  it("signs download links with a key every instance shares when one is configured", () => {
    const secret = "s".repeat(32);
    const shared = loadConfig({ AUTH_JWT_SECRET: secret });
    expect(shared.exchange.linkSecret).toBe(`exports:${secret}`);
    expect(shared.attachments.urlSecret).toBe(`attachments:${secret}`);
    const own = loadConfig({ AUTH_JWT_SECRET: secret, EXPORT_LINK_SECRET: "e".repeat(32) });
    expect(own.exchange.linkSecret).toBe("e".repeat(32));
    // Nothing shared: each process picks its own.
    expect(loadConfig({}).exchange.linkSecret).toBeUndefined();
  });

  it("rejects a short HS256 secret", () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: "short" })).toThrow(/AUTH_JWT_SECRET: must be at least 32/);
  });

  it("has limits, CORS and tracing defaults that production tightens", () => {
    const dev = loadConfig({});
    expect(dev.http.corsOrigins).toEqual(["*"]);
    expect(dev.rateLimits).toMatchObject({
      messagesPerMinute: 20,
      concurrentReplies: 3,
      tokensPerDay: 1_000_000,
    });
    expect(dev.operations).toMatchObject({ maxDepth: 10, maxCost: 50_000, maxBodyBytes: 1_048_576 });
    expect(dev.tracing).toBeNull();
    const production = loadConfig({ NODE_ENV: "production", AUTH_JWT_SECRET: "x".repeat(32) });
    expect(production.http.corsOrigins).toEqual([]);
    const configured = loadConfig({
      CORS_ORIGINS: "https://a.example, https://b.example",
      RATE_LIMIT_MESSAGES_PER_MINUTE: "5",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
    });
    expect(configured.http.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(configured.rateLimits.messagesPerMinute).toBe(5);
    expect(configured.tracing).toEqual({ endpoint: "http://collector:4318", serviceName: "chat-backend" });
  });

  it("refuses an allow-list mode without its list, and nonsense limits", () => {
    expect(() => loadConfig({ PERSISTED_OPERATIONS_ONLY: "true" })).toThrow(/PERSISTED_OPERATIONS_FILE/);
    expect(() => loadConfig({ MAX_QUERY_DEPTH: "0" })).toThrow(/MAX_QUERY_DEPTH/);
    expect(() => loadConfig({ RATE_LIMIT_MESSAGES_PER_MINUTE: "many" })).toThrow(
      /RATE_LIMIT_MESSAGES_PER_MINUTE/,
    );
  });
});
