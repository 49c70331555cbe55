import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { SignJWT } from "jose";
import { createHttpServer } from "../../src/app/http-server.js";
import { createRuntime, type Runtime } from "../../src/app/runtime.js";
import { loadConfig } from "../../src/core/config.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { createTestDatabase, type TestDatabase, type TestDatabaseKind } from "./databases.js";

/** The HS256 secret test servers verify tokens with. */
export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

/** A signed token for `sub`, valid for an hour unless `expiresIn` says otherwise. */
export async function tokenFor(sub: string, options: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** A GraphQL response as the tests read it. */
export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: {
    message: string;
    path?: (string | number)[];
    extensions?: { code?: string; [k: string]: unknown };
  }[];
}

/** A real HTTP server on a loopback port over a fresh database of one kind. */
export interface TestServer {
  readonly url: string;
  readonly runtime: Runtime;
  readonly db: Runtime["db"];
  readonly database: TestDatabase;
  /** Sends a typed operation as `token`'s user (no Authorization header when token is null). */
  request<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    token: string | null,
    init?: { headers?: Record<string, string> },
  ): Promise<GraphQLResponse<R>>;
  close(): Promise<void>;
}

/**
 * Starts a server on port 0 over a fresh database, with verified HS256 auth and (given `model`) the
 * OpenAI provider pointed at a fake model server; `env` overrides any setting. Always `close()` it.
 */
export async function startTestServer(
  kind: TestDatabaseKind,
  env: Record<string, string> = {},
  options: { database?: TestDatabase; logger?: Logger } = {},
): Promise<TestServer> {
  // Titles off unless a test turns them on: a title request would take the next scripted model answer.
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    TITLE_GENERATION: "false",
    ...env,
  });
  const database = options.database ?? (await createTestDatabase(kind));
  const runtime = await createRuntime(config, options.logger ?? createLogger(), { target: database.target });
  const db = runtime.db;
  const { app, server, websockets } = createHttpServer(runtime);
  // Longer than any pause between two requests of a test on a loaded machine: a client reusing a socket
  // the server is just closing gets ECONNRESET.
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  runtime.listeningAt(url);
  return {
    url,
    runtime,
    db,
    database,
    request: (document, variables, token, init) => requestAt(url, document, variables, token, init),
    async close() {
      await websockets.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await app.dispose();
      await database.drop();
    },
  };
}

/** Sends a typed operation to the server at `url` (any server: in-process or a child process). */
export async function requestAt<R, V>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
  token: string | null,
  init: { headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<R>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...init.headers,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<R>, "status">;
  return { status: response.status, ...body };
}
