import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { BROWSER_TIMEOUT_MS, launchBrowser, offline, screenshot } from "../utils/browser.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, type TestServer } from "../utils/server.js";

// GraphiQL as a developer meets it: `npm start` in development (no JWT secret, so development auth), a
// browser on /graphql with no internet. Browsers are heavy: this runs against one database kind.
const [kind = "pglite"] = testDatabaseKinds();

const SUBSCRIPTION = `subscription Chat {
  sendMessage(input: { content: "Hello from GraphiQL" }) {
    __typename
    ... on TextDelta { seq delta }
    ... on MessageCompleted { seq message { status content } }
  }
}`;

describe(`GraphiQL in headless Chromium (${kind})`, { timeout: 4 * BROWSER_TIMEOUT_MS }, () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let browser: Browser;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      AUTH_JWT_SECRET: "",
      ...fake.serverEnv,
    });
    browser = await launchBrowser();
  }, 4 * BROWSER_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await fake?.close();
  });

  /** Opens GraphiQL with `query` in its editor, offline, in a fresh browser context. */
  async function openGraphiQL(query: string) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    const page = await context.newPage();
    const blocked = await offline(page);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${server.url}/graphql?query=${encodeURIComponent(query)}`);
    await page.locator(".graphiql-execute-button").waitFor();
    // The response pane is a Monaco editor, which renders spaces as no-break spaces.
    const responseText = async () =>
      ((await page.locator(".graphiql-response .view-lines").textContent()) ?? "").replace(/\u00a0/g, " ");
    return { context, page, blocked, errors, responseText };
  }

  it("loads without the internet and runs a query", async () => {
    const { context, page, blocked, errors, responseText } = await openGraphiQL(
      "query Me {\n  viewer {\n    id\n  }\n}",
    );
    await page.locator(".graphiql-execute-button").click();
    await expect.poll(responseText, { timeout: BROWSER_TIMEOUT_MS }).toContain('"id": "dev-user"');
    await screenshot(page, "graphiql-query");
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("streams a sendMessage subscription visibly, event by event", async () => {
    const gate = deferred();
    fake.script({
      chunks: [{ content: "Streaming " }, { content: "in GraphiQL", gate: gate.promise }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    const { context, page, blocked, responseText } = await openGraphiQL(SUBSCRIPTION);
    await page.locator(".graphiql-execute-button").click();
    // The model is paused after its first chunk: the page shows that delta while the reply is unfinished.
    await expect.poll(responseText, { timeout: BROWSER_TIMEOUT_MS }).toContain('"delta": "Streaming "');
    await screenshot(page, "graphiql-subscription-streaming");
    gate.resolve();
    await expect
      .poll(responseText, { timeout: BROWSER_TIMEOUT_MS })
      .toContain('"content": "Streaming in GraphiQL"');
    expect(await responseText()).toContain('"status": "COMPLETE"');
    await screenshot(page, "graphiql-subscription-completed");
    expect(blocked).toEqual([]);
    await context.close();
  });
});
