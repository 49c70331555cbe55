import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga, type YogaInitialContext } from "graphql-yoga";
import { afterEach, describe, expect, it } from "vitest";
import { useGuardedGraphQLSSE } from "../../src/http/graphql-sse.js";

const SUBSCRIPTION = "subscription Held { held }";

/**
 * A yoga app with the graphql-sse endpoint on `/graphql/stream`, whose one subscription sends an event and
 * then stays open until `release()`, telling the test the context it ran with.
 */
function app() {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const seen: { context?: YogaInitialContext } = {};
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { hello: String! }
        type Subscription { held: Int! }
      `,
      resolvers: {
        Query: { hello: () => "world" },
        Subscription: {
          held: {
            subscribe: async function* (_: unknown, _args: unknown, context: YogaInitialContext) {
              seen.context = context;
              yield { held: 1 };
              await held;
            },
          },
        },
      },
    }),
    plugins: [
      useGuardedGraphQLSSE({
        endpoint: "/graphql/stream",
        maxBodyBytes: 1_000,
        persisted: null,
        maskError: (error) => error as Error,
      }),
    ],
  });
  return { yoga, seen, release: () => release() };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Posts a subscription to `path` and resolves with the response once its first event has arrived. */
function firstEvent(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request(
      {
        port,
        host: "127.0.0.1",
        path,
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
      },
      (response) => {
        response.setEncoding("utf8");
        let text = "";
        const onData = (chunk: string) => {
          text += chunk;
          if (!text.includes('"held":1')) return;
          response.off("data", onData);
          resolve(response);
        };
        response.on("data", onData);
      },
    )
      .on("error", reject)
      .end(JSON.stringify({ query: SUBSCRIPTION }));
  });
}

describe("a graphql-sse subscription's request body", () => {
  it("is read without leaving listeners on the request for the stream's life", async () => {
    const { yoga, seen, release } = app();
    server = createServer(yoga);
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const response = await firstEvent(port, "/graphql/stream");
    const nodeRequest = (seen.context as YogaInitialContext & { req: IncomingMessage }).req;
    // The body has been read, and the request lives as long as the stream (the context holds it): what
    // read the body must have taken its listeners off (Node's async iterator left five, on these three
    // and two more, with the closures they hold).
    expect(nodeRequest.readableEnded).toBe(true);
    for (const event of ["data", "readable", "end"]) expect(nodeRequest.listenerCount(event)).toBe(0);
    release();
    response.resume();
    await new Promise((resolve) => response.on("end", resolve));
  });
});
