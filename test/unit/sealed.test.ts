import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseMcpConfig } from "../../src/agent/tools/mcp/config.js";
import { SecretBox } from "../../src/agent/tools/mcp/sealed.js";

describe("SecretBox (tool server tokens at rest)", () => {
  const box = new SecretBox(randomBytes(32));

  it("opens what it sealed, with a fresh nonce each time", () => {
    const secret = JSON.stringify({ access_token: "at-123", refresh_token: "rt-456" });
    const [a, b] = [box.seal(secret), box.seal(secret)];
    expect(a).not.toBe(b);
    expect(a).not.toContain("at-123");
    expect(box.open(a)).toBe(secret);
    expect(box.open(b)).toBe(secret);
  });

  it("refuses a changed value, another key's value, and a short key", () => {
    const sealed = box.seal("secret");
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => box.open(parts.join("."))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    expect(() => box.open("plain text")).toThrow(/not a sealed value/);
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('reads "auth": "oauth" for Streamable HTTP servers only', () => {
    const [server] = parseMcpConfig(
      { mcpServers: { s: { url: "https://s.example/mcp", auth: "oauth" } } },
      {},
    );
    expect(server).toMatchObject({ transport: "http", auth: "oauth" });
    expect(() => parseMcpConfig({ mcpServers: { t: { command: "t", auth: "oauth" } } }, {})).toThrow(
      /needs a Streamable HTTP/,
    );
  });
});
