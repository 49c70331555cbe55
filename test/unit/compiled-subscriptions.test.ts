import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import { text } from "node:stream/consumers";
import { setFlagsFromString } from "node:v8";
import { createSchema, createYoga, type YogaInitialContext } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { useCompiledSubscriptions } from "../../src/http/compiled-subscriptions.js";

// V8's own answer to whether two objects share a hidden class (their shape: one per object costs its
// descriptors, about 0.5 KB for a request's context).
setFlagsFromString("--allow-natives-syntax");
const sameHiddenClass = new Function("a", "b", "return %HaveSameMap(a, b)") as (
  a: object,
  b: object,
) => boolean;

const SUBSCRIPTION = "subscription Count($upTo: Int!) { count(upTo: $upTo) }";

/** A yoga app whose one subscription counts to `upTo`, and tells the test the context it ran with. */
function app() {
  const seen: { context?: YogaInitialContext; eventContexts: YogaInitialContext[] } = { eventContexts: [] };
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { hello: String! }
        type Subscription { count(upTo: Int!): Int! }
      `,
      resolvers: {
        Query: { hello: () => "world" },
        Subscription: {
          count: {
            subscribe: async function* (_: unknown, { upTo }: { upTo: number }, context: YogaInitialContext) {
              seen.context = context;
              for (let n = 1; n <= upTo; n++) yield { count: n };
            },
            resolve: (payload: { count: number }, _args: unknown, context: YogaInitialContext) => {
              seen.eventContexts.push(context);
              return payload.count;
            },
          },
        },
      },
    }),
    plugins: [useCompiledSubscriptions({ mask: (error) => error as Error })],
  });
  return { yoga, seen };
}

describe("compiled subscriptions", () => {
  it("stream their events, with a context that no longer holds the query's text", async () => {
    const { yoga, seen } = app();
    const response = await yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { upTo: 3 }, operationName: "Count" }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    const counts = [...body.matchAll(/"count":(\d+)/g)].map((match) => Number(match[1]));
    expect(counts).toEqual([1, 2, 3]);
    // The document was parsed from the text before the stream began; the rest of the parameters stay.
    expect(seen.context?.params).toEqual({
      query: undefined,
      variables: { upTo: 3 },
      operationName: "Count",
    });
  });

  it("keep the request's headers once, not also as the list they came in", async () => {
    const { yoga, seen } = app();
    const server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        request(
          {
            port,
            host: "127.0.0.1",
            path: "/graphql",
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Accept: "text/event-stream",
              "X-Client-Name": "test",
            },
          },
          (res) => resolve(text(res)),
        )
          .on("error", reject)
          .end(JSON.stringify({ query: SUBSCRIPTION, variables: { upTo: 2 } }));
      });
      expect([...body.matchAll(/"count":(\d+)/g)].map((match) => Number(match[1]))).toEqual([1, 2]);
      const nodeRequest = (seen.context as YogaInitialContext & { req: IncomingMessage }).req;
      expect(nodeRequest.rawHeaders).toEqual([]);
      expect(nodeRequest.headers["x-client-name"]).toBe("test");
      expect(seen.context?.request.headers.get("x-client-name")).toBe("test");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("execute each event with a context of its own, a copy of the request's", async () => {
    const { yoga, seen } = app();
    const response = await yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { upTo: 3 } }),
    });
    await response.text();
    const request = seen.context?.request;
    expect(request?.url).toBe("http://test/graphql");
    expect(seen.eventContexts).toHaveLength(3);
    expect(new Set(seen.eventContexts).size).toBe(3);
    for (const context of seen.eventContexts) {
      expect(context).not.toBe(seen.context);
      expect(context).toEqual(seen.context);
      expect(context.request).toBe(request);
    }
    // Not a prototype of the events' contexts, which V8 would give a hidden class of its own: two streams'
    // contexts share one.
    for (const context of seen.eventContexts) expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    const first = seen.context as YogaInitialContext;
    const again = await yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { upTo: 3 } }),
    });
    await again.text();
    expect(seen.context).not.toBe(first);
    expect(sameHiddenClass(first, seen.context as YogaInitialContext)).toBe(true);
  });
});
