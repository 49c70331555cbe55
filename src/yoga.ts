import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { useGraphQLSSE } from "@graphql-yoga/plugin-graphql-sse";
import { createYoga, type Plugin, useReadinessCheck } from "graphql-yoga";
import type { Context } from "./context.js";
import { createMaskError } from "./mask-error.js";
import type { Runtime } from "./runtime.js";
import { schema } from "./schema/index.js";

/**
 * Builds the GraphQL-over-HTTP app: `/graphql` (queries, mutations, yoga's SSE subscriptions, GraphiQL for
 * browsers), `/graphql/stream` (the graphql-sse protocol), `/healthz` and `/readyz`. It does not listen;
 * `src/server.ts` does, and tests serve it on port 0.
 */
export function createApp(runtime: Runtime) {
  const { config, prisma, logger } = runtime;
  return createYoga<{ request: Request }, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/healthz",
    landingPage: false,
    graphiql: config.graphiql ? { title: "Chat backend", defaultQuery: GRAPHIQL_QUERY } : false,
    logging: logger,
    maskedErrors: { maskError: createMaskError(logger) },
    context: async ({ request }) => ({
      prisma,
      config,
      pubsub: runtime.pubsub,
      runs: runtime.runs,
      request,
      viewer: await runtime.authenticate(request),
    }),
    plugins: [
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      useGraphQLSSE({ endpoint: "/graphql/stream" }),
      useUnbufferedEventStreams(),
      useReadinessCheck({
        endpoint: "/readyz",
        // Not ready while PostgreSQL (or, with several instances, Redis) is unreachable.
        check: async () => {
          const database = prisma.$queryRaw`SELECT 1`.then(() => true);
          const network = runtime.runs.network?.isReady() ?? true;
          const timeout = new Promise<false>((resolve) => setTimeout(resolve, 2_000, false).unref());
          const [db, redis] = await Promise.all([Promise.race([database, timeout]), network]);
          return db && redis;
        },
      }),
    ],
  });
}

/** The app type, for tests and the server. */
export type App = ReturnType<typeof createApp>;

/** Tells proxies (nginx and the like) not to buffer event streams, which would hold tokens back. */
function useUnbufferedEventStreams(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        response.headers.set("x-accel-buffering", "no");
        response.headers.set("cache-control", "no-cache, no-transform");
      }
    },
  };
}

const GRAPHIQL_QUERY = `# Development auth is on unless a JWT secret or JWKS URL is configured:
# requests without a token then act as "dev-user".
subscription Chat {
  sendMessage(input: { content: "Hello! What can you do?" }) {
    __typename
    ... on MessageCreated { seq message { id role content conversation { id title } } }
    ... on TextDelta { seq delta }
    ... on MessageCompleted { seq message { status content error usage { totalTokens } } }
  }
}

query Conversations {
  viewer { id conversationCount }
  conversations(first: 20) {
    edges { node { id title lastActivityAt messageCount lastMessage { role content status } } }
    pageInfo { hasNextPage endCursor }
  }
}
`;
