import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

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

  it("rejects a short HS256 secret", () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: "short" })).toThrow(/AUTH_JWT_SECRET: must be at least 32/);
  });
});
