import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatExample } from "../../examples/chat/serve.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { BROWSER_TIMEOUT_MS, launchBrowser, offline, screenshot } from "../utils/browser.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { CreateConversation } from "../utils/operations.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// Two tabs of one user on the example chat page (examples/chat), in headless Chromium: what one does to
// its conversations (create, rename, pin, tag, delete, send) the other's list follows through
// `viewerEvents`, running replies included; and the organise controls (pins, tags, thumbs) work.
const [kind = "pglite"] = testDatabaseKinds();
const poll = { timeout: BROWSER_TIMEOUT_MS };

describe(`two tabs of the example chat page in sync (${kind})`, { timeout: 6 * BROWSER_TIMEOUT_MS }, () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let example: Awaited<ReturnType<typeof startChatExample>>;
  let browser: Browser;
  let context: BrowserContext;
  let one: Page;
  let two: Page;
  const pageErrors: string[] = [];
  let user: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, FLUSH_INTERVAL_MS: "50" });
    example = await startChatExample({ apiUrl: `${server.url}/graphql`, port: 0 });
    browser = await launchBrowser();
    user = `user-${randomUUID()}`;
    await seedConversation(server.db.prisma, user, { title: "Existing", messages: 2 });
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    const url = `${example.url}/?token=${encodeURIComponent(await tokenFor(user))}`;
    [one, two] = [await context.newPage(), await context.newPage()];
    for (const page of [one, two]) {
      page.on("pageerror", (error) => pageErrors.push(`${error.message} ${error.stack}`));
      await offline(page);
      await page.goto(url);
    }
  }, 6 * BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await example?.close();
    await server?.close();
    await fake?.close();
  });

  const titles = (page: Page) => page.locator("#conversation-list .title").allTextContents();
  const item = (page: Page, title: string) => page.locator("#conversation-list li", { hasText: title });
  const running = (page: Page, title: string) => item(page, title).getAttribute("data-running");
  const messages = (page: Page) => page.locator("#messages .message .text").allTextContents();
  const statusOfLast = (page: Page) => page.locator("#messages .message").last().getAttribute("data-status");

  /** Clicks a conversation's action that asks with a prompt or confirm, answering it. */
  async function act(page: Page, title: string, action: string, answer?: string) {
    page.once("dialog", (dialog) => void dialog.accept(answer));
    await item(page, title).locator(`.actions .${action}`).click();
  }

  it("shows in the other tab a conversation started in one, its reply running, then finished", async () => {
    // Both tabs listen: each holds its viewerEvents stream.
    await expect.poll(() => server.runtime.streams.size, poll).toBe(2);
    await expect.poll(() => titles(two), poll).toEqual(["Existing"]);
    const gate = deferred();
    fake.script({ chunks: [{ content: "Hello " }, { content: "from the model.", gate: gate.promise }] });
    await one.locator("#new-chat").click();
    await one.locator("#input").fill("Hello from tab one");
    await one.locator("#send").click();
    await expect.poll(() => titles(two), poll).toEqual(["Hello from tab one", "Existing"]);
    await expect.poll(() => running(two, "Hello from tab one"), poll).toBe("true");
    await screenshot(two, "chat-sync-running");
    gate.resolve();
    await expect.poll(() => running(two, "Hello from tab one"), poll).toBe("false");
    await expect
      .poll(() => item(two, "Hello from tab one").locator(".preview").textContent(), poll)
      .toBe("Hello from the model.");
  });

  it("follows renames, pins, tags and deletes made in the other tab", async () => {
    await act(one, "Hello from tab one", "rename", "Renamed in one");
    await expect.poll(() => titles(two), poll).toEqual(["Renamed in one", "Existing"]);
    await item(one, "Existing").locator(".actions .pin").click();
    await expect.poll(() => titles(two), poll).toEqual(["Existing", "Renamed in one"]);
    await expect.poll(() => item(two, "Existing").getAttribute("class"), poll).toContain("pinned");
    await act(one, "Existing", "tag", "Work, Ideas");
    await expect.poll(() => item(two, "Existing").locator(".tags").textContent(), poll).toBe("#work #ideas");
    await act(one, "Renamed in one", "delete");
    await expect.poll(() => titles(two), poll).toEqual(["Existing"]);
    await expect.poll(() => titles(one), poll).toEqual(["Existing"]);
    await screenshot(two, "chat-sync-organised");
  });

  it("streams in the other tab a reply started in one, in the open conversation", async () => {
    for (const page of [one, two]) await item(page, "Existing").locator("button.open").click();
    await expect.poll(() => messages(two).then((m) => m.length), poll).toBe(2);
    const gate = deferred();
    fake.script({ chunks: [{ content: "Streaming " }, { content: "everywhere.", gate: gate.promise }] });
    await one.locator("#input").fill("Tell both tabs");
    await one.locator("#send").click();
    await expect
      .poll(() => messages(two).then((m) => m.slice(-2)), poll)
      .toEqual(["Tell both tabs", "Streaming "]);
    expect(await statusOfLast(two)).toBe("STREAMING");
    gate.resolve();
    await expect.poll(() => statusOfLast(two), poll).toBe("COMPLETE");
    expect((await messages(two)).at(-1)).toBe("Streaming everywhere.");
  });

  it("rates a reply thumbs up, then down", async () => {
    const last = two.locator("#messages .message").last();
    await last.locator(".rate-up").click();
    await expect.poll(() => last.locator(".rate-up").getAttribute("aria-pressed"), poll).toBe("true");
    await last.locator(".rate-down").click();
    await expect.poll(() => last.locator(".rate-down").getAttribute("aria-pressed"), poll).toBe("true");
    expect(await last.locator(".rate-up").getAttribute("aria-pressed")).toBe("false");
    await screenshot(two, "chat-sync-rated");
    expect(pageErrors).toEqual([]);
  });

  it("listens again once its stream of changes ends, and reads its list again", async () => {
    await expect.poll(() => server.runtime.streams.size, poll).toBe(2);
    // As when streams reach STREAM_MAX_DURATION_MS, or an instance loses Redis.
    await server.runtime.streams.closeAll();
    // Made while no tab listens: the list read again shows it.
    await server.request(CreateConversation, { title: "While away" }, await tokenFor(user));
    await expect.poll(() => titles(two), poll).toContain("While away");
    await expect.poll(() => server.runtime.streams.size, poll).toBe(2);
    // Listening again: later changes come as events.
    await act(one, "While away", "rename", "Back again");
    await expect.poll(() => titles(two), poll).toEqual(["Existing", "Back again"]);
    expect(pageErrors).toEqual([]);
  });
});
