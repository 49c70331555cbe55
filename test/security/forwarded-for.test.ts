import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, type TestServer } from "../utils/server.js";
import { codes, send } from "./helpers.js";

// An anonymous client behind a trusted proxy rotates the X-Forwarded-For it writes itself: it is still one
// client, and its rate limit holds.

const LIMIT = 3;

describe.each(testDatabaseKinds())("X-Forwarded-For on %s", (kind) => {
  describe.each([
    ["a hop count", "1"],
    ["true (one hop)", "true"],
    ["the proxy's address", "10.0.0.0/8,127.0.0.1"],
  ])("with TRUST_PROXY as %s", (_name, trustProxy) => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(kind, {
        TRUST_PROXY: trustProxy,
        RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(LIMIT),
      });
    });
    afterAll(() => server?.close());

    /** An anonymous request as the proxy on loopback forwards it: the client's header, then the address it saw. */
    const viaProxy = (spoofed: string, seen: string) =>
      send(server, "/graphql", {
        headers: { "content-type": "application/json", "x-forwarded-for": `${spoofed}, ${seen}` },
        body: JSON.stringify({ query: "{ __typename }" }),
      });

    it("limits the client the proxy saw, whatever it wrote in front", async () => {
      for (let i = 0; i < LIMIT; i++) {
        const answer = await viaProxy(`198.51.100.${i}`, "203.0.113.7");
        expect(codes(answer.body)).toEqual([]);
      }
      const refused = await viaProxy("198.51.100.200", "203.0.113.7");
      expect(refused.status).toBe(429);
      expect(codes(refused.body)).toEqual(["RATE_LIMITED"]);
      // Another client behind the same proxy is not limited by the first one.
      const other = await viaProxy("198.51.100.200", "203.0.113.8");
      expect(codes(other.body)).toEqual([]);
    });
  });
});
