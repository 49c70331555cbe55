// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${VAR} references of mcpServers files, not templates
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadMcpConfig, McpConfigError, parseMcpConfig } from "../../src/agent/tools/mcp/config.js";
import { ConfigError, loadConfig } from "../../src/core/config.js";
import { tempDir } from "../utils/mcp.js";

describe("parseMcpConfig", () => {
  it("reads stdio and Streamable HTTP servers in the mcpServers shape, skipping disabled ones", () => {
    const servers = parseMcpConfig(
      {
        mcpServers: {
          files: { command: "npx", args: ["-y", "server-files", "/data"], env: { LEVEL: "debug" } },
          weather: { type: "http", url: "https://tools.example/mcp", headers: { "x-api-key": "k" } },
          old: { command: "old-server", disabled: true },
        },
      },
      {},
    );
    expect(servers).toEqual([
      {
        transport: "stdio",
        name: "files",
        command: "npx",
        args: ["-y", "server-files", "/data"],
        env: { LEVEL: "debug" },
        approval: "never",
      },
      {
        transport: "http",
        name: "weather",
        url: "https://tools.example/mcp",
        headers: { "x-api-key": "k" },
        approval: "never",
      },
    ]);
  });

  it("reads each server's approval policy and refuses an unknown one", () => {
    const servers = parseMcpConfig(
      {
        mcpServers: {
          a: { command: "a", approval: "always" },
          b: { command: "b", approval: "auto" },
          c: { url: "https://c.example/mcp", approval: { tools: ["delete_file"] } },
        },
      },
      {},
    );
    expect(servers.map((s) => s.approval)).toEqual(["always", "auto", { tools: ["delete_file"] }]);
    expect(() => parseMcpConfig({ mcpServers: { d: { command: "d", approval: "sometimes" } } }, {})).toThrow(
      /d\.approval/,
    );
  });

  it("fills ${VAR} and ${VAR:-default} from the environment and names the variables that are missing", () => {
    const [server] = parseMcpConfig(
      {
        mcpServers: {
          api: {
            url: "${API_URL}",
            headers: { authorization: "Bearer ${API_TOKEN}", region: "${REGION:-eu}" },
          },
        },
      },
      { API_URL: "https://api.example/mcp", API_TOKEN: "secret" },
    );
    expect(server).toMatchObject({
      url: "https://api.example/mcp",
      headers: { authorization: "Bearer secret", region: "eu" },
    });
    expect(() =>
      parseMcpConfig({ mcpServers: { s: { command: "x", env: { A: "${ONE}", B: "${TWO}" } } } }, {}),
    ).toThrow(/not set: ONE, TWO/);
  });

  it("names every invalid server", () => {
    const bad = {
      mcpServers: {
        neither: { args: [] },
        both: { command: "x", url: "http://localhost/mcp" },
        legacy: { type: "sse", url: "http://localhost/sse" },
        badUrl: { url: "not a url" },
      },
    };
    expect(() => parseMcpConfig(bad, {})).toThrow(McpConfigError);
    try {
      parseMcpConfig(bad, {});
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/mcpServers\.neither: needs `command` \(stdio\) or `url`/);
      expect(message).toMatch(/mcpServers\.both: give `command` or `url`, not both/);
      expect(message).toMatch(/mcpServers\.legacy: the legacy HTTP\+SSE transport is not supported/);
      expect(message).toMatch(/mcpServers\.badUrl\.url/);
    }
    expect(() => parseMcpConfig({ servers: {} }, {})).toThrow(/mcpServers/);
  });

  it("reports a missing or malformed file as a configuration error", () => {
    const dir = tempDir();
    expect(() => loadMcpConfig(path.join(dir, "absent.json"))).toThrow(ConfigError);
    const file = path.join(dir, "broken.json");
    writeFileSync(file, "{ not json");
    expect(() => loadMcpConfig(file)).toThrow(/MCP_CONFIG: cannot read .*broken\.json/);
  });
});

describe("tool settings", () => {
  it("has defaults and refuses a storage limit below the model's", () => {
    expect(loadConfig({}).runs.tools).toEqual({
      maxRounds: 8,
      callTimeoutMs: 60_000,
      resultMaxChars: 20_000,
      resultStoreMaxChars: 1_000_000,
      resultEventMaxChars: 4_000,
      approvalTimeoutMs: 600_000,
    });
    expect(loadConfig({}).mcp).toMatchObject({ builtinTools: false, http: true, userHeader: "X-User-Id" });
    expect(() => loadConfig({ TOOL_RESULT_MAX_CHARS: "5000", TOOL_RESULT_STORE_MAX_CHARS: "1000" })).toThrow(
      /TOOL_RESULT_STORE_MAX_CHARS: must be at least TOOL_RESULT_MAX_CHARS/,
    );
    expect(() => loadConfig({ MCP_USER_HEADER: "bad header" })).toThrow(/MCP_USER_HEADER/);
  });
});
