import { describe, expect, it } from "vitest";
import { originAccess } from "../../src/http/graphql-ws.js";

describe("which pages may open a graphql-ws socket", () => {
  it("lets non-browser clients, the server's own pages and listed origins in", () => {
    expect(originAccess(undefined, "api.example.com", [])).toBe("full");
    expect(originAccess("https://api.example.com", "api.example.com", [])).toBe("full");
    expect(originAccess("http://localhost:4000", "localhost:4000", ["*"])).toBe("full");
    expect(originAccess("https://app.example.com", "api.example.com", ["https://app.example.com"])).toBe(
      "full",
    );
  });

  it("lets any other site in only with CORS_ORIGINS=*, and then only with a token (see onConnect)", () => {
    expect(originAccess("https://evil.example", "api.example.com", ["*"])).toBe("any");
    expect(originAccess("null", "api.example.com", ["*"])).toBe("any");
    expect(originAccess("https://evil.example", "api.example.com", ["https://app.example.com"])).toBe(
      "refused",
    );
    expect(originAccess("http://localhost:5173", "localhost:4000", [])).toBe("refused");
    expect(originAccess("not a url", "api.example.com", [])).toBe("refused");
  });
});
