import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatExample } from "../../examples/chat/serve.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { McpHttpFixture } from "../fixtures/mcp-http-server.js";
import { BROWSER_TIMEOUT_MS, launchBrowser, offline } from "../utils/browser.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { tempDir, writeMcpConfig } from "../utils/mcp.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// Approve / Deny in the example chat page (examples/chat), end to end in headless Chromium: a real MCP
// server whose tools always ask, the fake model, and the API. One database kind: browsers are heavy.
const [kind = "pglite"] = testDatabaseKinds();
const poll = { timeout: BROWSER_TIMEOUT_MS };

describe(`tool approvals in the example chat page (${kind})`, { timeout: 6 * BROWSER_TIMEOUT_MS }, () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let http: McpHttpFixture;
  let example: Awaited<ReturnType<typeof startChatExample>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    http = await new McpHttpFixture("http").start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      FLUSH_INTERVAL_MS: "50",
      MCP_CONFIG: writeMcpConfig(tempDir(), { files: { url: http.url, approval: "always" } }),
    });
    example = await startChatExample({ apiUrl: `${server.url}/graphql`, port: 0 });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${error.message} ${error.stack}`));
    await offline(page);
    await page.goto(`${example.url}/?token=${encodeURIComponent(await tokenFor(`user-${randomUUID()}`))}`);
  }, 6 * BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await example?.close();
    await server?.close();
    await http?.stop();
    await fake?.close();
  });

  const lastMessage = () => page.locator("#messages .message").last();
  const statusOfLast = () => lastMessage().getAttribute("data-status");
  const lastText = () => lastMessage().locator(".text").textContent();

  async function send(text: string) {
    await page.locator("#input").fill(text);
    await page.locator("#send").click();
  }

  it("shows a call that waits for approval with Approve / Deny; approving runs it and the reply goes on", async () => {
    fake.script(
      FakeOpenAI.toolCalls(
        [{ name: "files__echo", arguments: '{"text":"from the page"}' }],
        "Let me run it. ",
      ),
      FakeOpenAI.text(["It said: echo: from the page"]),
    );
    await send("run the echo tool");
    const approval = lastMessage().locator(".approval");
    await expect.poll(() => approval.count(), poll).toBe(1);
    expect(await approval.locator(".what").textContent()).toContain("files › echo");
    expect(await statusOfLast()).toBe("AWAITING_APPROVAL");

    // Waiting survives a reload: the page resumes the reply's stream and still asks.
    await page.reload();
    await expect.poll(() => lastMessage().locator(".approval").count(), poll).toBe(1);

    await lastMessage().locator(".approval .approve").click();
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    expect(await lastText()).toBe("Let me run it. It said: echo: from the page");
    expect(await page.locator(".approval").count()).toBe(0);
    expect(http.eventsOf("echo")).toHaveLength(1);
  });

  it("denying tells the model, which answers without the tool", async () => {
    fake.script(
      FakeOpenAI.toolCalls([{ name: "files__echo", arguments: '{"text":"no"}' }]),
      FakeOpenAI.text(["Alright, I will not."]),
    );
    await send("run it again");
    await expect.poll(() => lastMessage().locator(".approval").count(), poll).toBe(1);
    await lastMessage().locator(".approval .deny").click();
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    expect(await lastText()).toBe("Alright, I will not.");
    expect(http.eventsOf("echo")).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });
});
