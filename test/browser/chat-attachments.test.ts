import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatExample } from "../../examples/chat/serve.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { BROWSER_TIMEOUT_MS, launchBrowser, offline, screenshot } from "../utils/browser.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// The example chat page attaches an image: uploaded from the browser (urql's multipart request), sent with
// the message, shown in it by its signed url (no token in an <img>), and given to the model.
const [kind = "pglite"] = testDatabaseKinds();
const poll = { timeout: BROWSER_TIMEOUT_MS };

describe(`attachments on the example chat page in headless Chromium (${kind})`, {
  timeout: 4 * BROWSER_TIMEOUT_MS,
}, () => {
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
    server = await startTestServer(kind, { ...fake.serverEnv, FLUSH_INTERVAL_MS: "50" });
    example = await startChatExample({ apiUrl: `${server.url}/graphql`, port: 0 });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${error.message} ${error.stack}`));
    blocked = await offline(page);
    const token = await tokenFor(`user-${randomUUID()}`);
    await page.goto(`${example.url}/?token=${encodeURIComponent(token)}`);
  }, 4 * BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await example?.close();
    await server?.close();
    await fake?.close();
  });

  it("attaches an image, shows it in the message by its signed url, and the model receives it", async () => {
    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: "#3a7" } })
      .png()
      .toBuffer();
    fake.script(FakeOpenAI.text(["A green ", "rectangle."]));
    await page.locator("#files").setInputFiles({ name: "green.png", mimeType: "image/png", buffer: png });
    await expect.poll(() => page.locator("#pending-files li").allTextContents(), poll).toEqual(["green.png"]);
    await page.locator("#input").fill("What is this?");
    await page.locator("#send").click();

    const image = page.locator('#messages .message[data-role="USER"] img.attachment');
    await expect.poll(() => image.count(), poll).toBe(1);
    // Loaded by the browser from the signed url, without the bearer token.
    await expect.poll(() => image.evaluate((img) => (img as HTMLImageElement).naturalWidth), poll).toBe(320);
    expect(await image.getAttribute("src")).toMatch(/\/attachments\/[0-9a-f-]{36}\?expires=\d+&sig=/);
    expect(await image.getAttribute("alt")).toBe("green.png");
    await expect
      .poll(() => page.locator('#messages .message[data-role="ASSISTANT"] .text').last().textContent(), poll)
      .toBe("A green rectangle.");
    expect(await page.locator("#pending-files").isHidden()).toBe(true);

    const request = fake.requests.at(-1);
    const user = request?.body.messages.at(-1) as unknown as { content: { type: string }[] };
    expect(user.content.map((p) => p.type)).toEqual(["text", "image_url"]);
    await screenshot(page, "chat-attachment");
    expect(pageErrors).toEqual([]);
    expect(blocked).toEqual([]);
  });
});
