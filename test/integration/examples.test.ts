import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatWithApollo } from "../../examples/typed-clients/apollo.js";
import { chatWithUrql } from "../../examples/typed-clients/urql.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// The typed-client examples are type-checked with the rest (tsconfig includes examples/); here they run.
const [kind = "pglite"] = testDatabaseKinds();

describe(`typed-client examples against the API (${kind})`, () => {
  let server: TestServer;
  // As the README runs it: no token, development auth.
  let devServer: TestServer;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
    });
    devServer = await startTestServer(kind, { ...fake.serverEnv, AUTH_DEV_MODE: "true" });
  }, 120_000); // two servers' migrations on a busy machine
  afterAll(async () => {
    await server?.close();
    await devServer?.close();
    await fake?.close();
  });

  it.each([
    ["Apollo Client", chatWithApollo],
    ["urql", chatWithUrql],
  ])("%s example sends a message and streams the reply", async (_name, chat) => {
    const token = await tokenFor(`user-${randomUUID()}`);
    fake.script(FakeOpenAI.text(["Typed ", "and ", "streamed"]));
    const deltas: string[] = [];
    const result = await chat({
      url: `${server.url}/graphql`,
      token,
      content: "Hello, typed world",
      onText: (d) => deltas.push(d),
    });
    expect(deltas.join("")).toBe("Typed and streamed"); // chunks that arrive together may come merged
    expect(result).toMatchObject({
      conversationsBefore: 0,
      status: "COMPLETE",
      reply: "Typed and streamed",
      cachedMessages: ["USER: Hello, typed world", "ASSISTANT: Typed and streamed"],
    });
  });

  it.each([
    ["Apollo Client", chatWithApollo],
    ["urql", chatWithUrql],
  ])(
    "%s example works without a token under development auth (as the README runs it)",
    async (_name, chat) => {
      fake.script(FakeOpenAI.text(["No ", "token"]));
      const result = await chat({ url: `${devServer.url}/graphql`, content: "Hello without a token" });
      expect(result).toMatchObject({ status: "COMPLETE", reply: "No token" });
    },
  );
});
