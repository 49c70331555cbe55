import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatExample } from "../../examples/chat/serve.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { BROWSER_TIMEOUT_MS, launchBrowser, offline, screenshot } from "../utils/browser.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { type ServerProcess, startServerProcess } from "../utils/process.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// The example chat page (examples/chat) end to end: its own static server, the API with the fake model,
// and headless Chromium. Browsers are heavy: this runs against one database kind.
const [kind = "pglite"] = testDatabaseKinds();
const poll = { timeout: BROWSER_TIMEOUT_MS };

describe(`example chat page in headless Chromium (${kind})`, { timeout: 6 * BROWSER_TIMEOUT_MS }, () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let example: Awaited<ReturnType<typeof startChatExample>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let blocked: string[];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      FLUSH_INTERVAL_MS: "50",
    });
    example = await startChatExample({ apiUrl: `${server.url}/graphql`, port: 0 });
    browser = await launchBrowser();

    const user = `user-${randomUUID()}`;
    const now = Date.now();
    await seedConversation(server.db.prisma, user, {
      title: "Long history",
      messages: 25,
      activityAt: new Date(now - 60_000),
    });
    await seedConversation(server.db.prisma, user, {
      title: "Recent chat",
      messages: 2,
      activityAt: new Date(now),
    });

    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${error.message} ${error.stack}`));
    blocked = await offline(page);
    await page.goto(`${example.url}/?token=${encodeURIComponent(await tokenFor(user))}`);
  }, 6 * BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await example?.close();
    await server?.close();
    await fake?.close();
  });

  const titles = () => page.locator("#conversation-list .title").allTextContents();
  const messages = () => page.locator("#messages .message .text").allTextContents();
  const lastMessage = () => page.locator("#messages .message").last();
  const lastText = () => lastMessage().locator(".text").textContent();
  const statusOfLast = () => lastMessage().getAttribute("data-status");

  async function send(text: string) {
    await page.locator("#input").fill(text);
    await page.locator("#send").click();
  }

  it("lists conversations, most recently active first", async () => {
    await expect.poll(titles, poll).toEqual(["Recent chat", "Long history"]);
  });

  it("opens a conversation at its newest messages and loads older ones on demand", async () => {
    await page.locator("#conversation-list li", { hasText: "Long history" }).locator("button.open").click();
    await expect.poll(() => messages().then((m) => m.length), poll).toBe(20);
    expect((await messages())[0]).toBe("message 6");
    expect((await messages()).at(-1)).toBe("message 25");
    await page.locator("#load-older").click();
    await expect.poll(() => messages().then((m) => m.length), poll).toBe(25);
    expect(await messages()).toEqual(Array.from({ length: 25 }, (_, i) => `message ${i + 1}`));
    await expect.poll(() => page.locator("#load-older").isHidden(), poll).toBe(true);
  });

  it("streams a reply as it is written, and stops it", async () => {
    const never = deferred();
    fake.script({
      chunks: [{ content: "I will write " }, { content: "a very long answer", gate: never.promise }],
    });
    await send("Tell me everything");
    await expect.poll(() => lastText(), poll).toBe("I will write ");
    expect(await statusOfLast()).toBe("STREAMING");
    // The conversation moved to the top of the list.
    await expect.poll(titles, poll).toEqual(["Long history", "Recent chat"]);
    await screenshot(page, "chat-streaming");
    await page.locator("#stop").click();
    await expect.poll(statusOfLast, poll).toBe("CANCELLED");
    expect(await lastText()).toBe("I will write ");
    expect(await page.locator("#stop").isHidden()).toBe(true);
    const texts = await messages();
    expect(texts.slice(-2)).toEqual(["Tell me everything", "I will write "]);
    expect(texts).toHaveLength(27);
  });

  it("resumes a reply after a reload, without gaps or repeats", async () => {
    const gate = deferred();
    fake.script({
      chunks: [{ content: "Before the reload, " }, { content: "after the reload.", gate: gate.promise }],
    });
    await send("Survive a reload");
    await expect.poll(() => lastText(), poll).toBe("Before the reload, ");
    const saved = await page.evaluate(() => JSON.parse(sessionStorage.getItem("chat.live") ?? "null"));
    expect(saved).toMatchObject({ seq: 3, text: "Before the reload, " });

    await page.reload();
    // The page shows the reply so far from its saved state and follows its stream again.
    await expect.poll(() => lastText(), poll).toBe("Before the reload, ");
    expect(await statusOfLast()).toBe("STREAMING");
    gate.resolve();
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    expect(await lastText()).toBe("Before the reload, after the reload.");
    expect(await page.evaluate(() => sessionStorage.getItem("chat.live"))).toBeNull();
    await screenshot(page, "chat-resumed");
  });

  it("starts a new conversation that appears at the top of the list", async () => {
    fake.script(FakeOpenAI.text(["Rome ", "in spring."]));
    await page.locator("#new-chat").click();
    await expect.poll(() => messages().then((m) => m.length), poll).toBe(0);
    await send("Where should I travel?");
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    expect(await messages()).toEqual(["Where should I travel?", "Rome in spring."]);
    await expect.poll(titles, poll).toEqual(["Where should I travel?", "Long history", "Recent chat"]);
    expect(await page.locator("#conversation-list li.selected .title").textContent()).toBe(
      "Where should I travel?",
    );
    await screenshot(page, "chat-new-conversation");
  });

  it("searches messages and opens the conversation of a result", async () => {
    await page.locator("#conversation-list li", { hasText: "Recent chat" }).locator("button.open").click();
    await page.locator("#search").fill("travel");
    const result = page.locator("#search-results li").first();
    await expect.poll(() => result.locator(".title").textContent(), poll).toBe("Where should I travel?");
    expect(await result.locator(".snippet").innerHTML()).toContain("<mark>travel</mark>");
    expect(await page.locator("#conversation-list").isHidden()).toBe(true);
    await screenshot(page, "chat-search");
    await result.locator("button").click();
    await expect.poll(messages, poll).toEqual(["Where should I travel?", "Rome in spring."]);
    await page.locator("#search").fill("");
    await expect.poll(() => page.locator("#conversation-list").isVisible(), poll).toBe(true);
  });

  it("regenerates a reply, edits a message, and switches between the versions with < n / m >", async () => {
    const message = (i: number) => page.locator("#messages .message").nth(i);
    fake.script(FakeOpenAI.text(["Paris ", "in autumn."]));
    await lastMessage().locator(".regenerate").click();
    await expect.poll(messages, poll).toEqual(["Where should I travel?", "Paris in autumn."]);
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    await expect.poll(() => lastMessage().locator(".version").textContent(), poll).toBe("2 / 2");
    // The earlier reply is kept: "<" shows it again.
    await lastMessage().locator(".prev").click();
    await expect.poll(messages, poll).toEqual(["Where should I travel?", "Rome in spring."]);
    expect(await lastMessage().locator(".version").textContent()).toBe("1 / 2");

    fake.script(FakeOpenAI.text(["The Alps."]));
    await message(0).locator(".edit").click();
    expect(await page.locator("#input").inputValue()).toBe("Where should I travel?");
    await send("Where should I go skiing?");
    await expect.poll(messages, poll).toEqual(["Where should I go skiing?", "The Alps."]);
    await expect.poll(statusOfLast, poll).toBe("COMPLETE");
    await expect.poll(() => message(0).locator(".version").textContent(), poll).toBe("2 / 2");
    // The first version again, with the newest reply below it.
    await message(0).locator(".prev").click();
    await expect.poll(messages, poll).toEqual(["Where should I travel?", "Paris in autumn."]);
    await message(0).locator(".next").click();
    await expect.poll(messages, poll).toEqual(["Where should I go skiing?", "The Alps."]);
  });

  it("never reached beyond the loopback servers and raised no page errors", () => {
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

// The README's own flow: `npm start` (a server process with nothing configured: development auth, the
// offline demo model, PGlite under its data directory), then `npm run example:chat`, and the page opened
// without a token.
describe("example chat page, the README's flow: no token, development auth", {
  timeout: 6 * BROWSER_TIMEOUT_MS,
}, () => {
  let dataDir: string;
  let api: ServerProcess;
  let example: Awaited<ReturnType<typeof startChatExample>>;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];
  const refused: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "chat-readme-"));
    api = await startServerProcess({ DATA_DIR: dataDir });
    example = await startChatExample({ apiUrl: `${api.url}/graphql`, port: 0 });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  }, 6 * BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await example?.close();
    api?.child.kill("SIGTERM");
    await api?.exited;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("lists, sends and streams the demo model's reply, with no request refused", async () => {
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${error.message} ${error.stack}`));
    page.on("response", (response) => {
      if (response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
    });
    const blocked = await offline(page);
    // The page keeps its viewerEvents stream open (the network never goes idle): it has settled once the
    // list is loaded and the stream answered.
    const graphql = (name: string) =>
      page.waitForResponse((r) => r.url().includes(name) || (r.request().postData() ?? "").includes(name));
    const settled = Promise.all([graphql("ConversationList"), graphql("ViewerEvents")]);
    await page.goto(example.url);
    await settled;
    expect(refused).toEqual([]);
    expect(await page.locator("#error").isHidden()).toBe(true);

    await page.locator("#input").fill("Hello from the README");
    await page.locator("#send").click();
    const last = page.locator("#messages .message").last();
    await expect.poll(() => last.getAttribute("data-status"), poll).toBe("COMPLETE");
    expect(await last.locator(".text").textContent()).toContain('You said: "Hello from the README"');
    await expect
      .poll(() => page.locator("#conversation-list .title").allTextContents(), poll)
      .toEqual(["Hello from the README"]);
    expect(await page.locator("#error").isHidden()).toBe(true);
    expect(refused).toEqual([]);
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
