import { randomUUID } from "node:crypto";
import { decodeGlobalID, encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TITLE_INSTRUCTIONS } from "../../src/agent/runs/titles.js";
import { FakeOpenAI, type RecordedRequest } from "../fixtures/fake-openai.js";
import { graphql } from "../generated/index.js";
import { testDatabaseKinds } from "../utils/databases.js";
import {
  CreateConversation,
  ForkConversation,
  RenameConversation,
  SendMessage,
} from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { conversationIdOf, eventsOf, isCompleted, waitFor } from "../utils/stream-events.js";

const UpdateSettings = graphql(`
  mutation TestUpdateSettings($input: UpdateConversationSettingsInput!) {
    updateConversationSettings(input: $input) {
      conversation {
        id
        updatedAt
        settings {
          model
          systemPrompt
          temperature
        }
      }
    }
  }
`);

const ConversationWithSettings = graphql(`
  query TestConversationWithSettings($id: ID!) {
    conversation(id: $id) {
      id
      title
      settings {
        model
        systemPrompt
        temperature
      }
      activeLeaf {
        id
      }
    }
  }
`);

const SERVER_PROMPT = "You are a test assistant.";

describe.each(testDatabaseKinds())("conversation settings on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      SYSTEM_PROMPT: SERVER_PROMPT,
      OPENAI_MODELS: "fake-model,other-model",
      MAX_SYSTEM_PROMPT_LENGTH: "100",
    });
    token = await tokenFor(`user-${randomUUID()}`);
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function newConversation(as = token) {
    const created = await server.request(CreateConversation, { title: "Settings" }, as);
    const id = created.data?.createConversation.conversation.id;
    if (!id) throw new Error(JSON.stringify(created.errors));
    return id;
  }

  async function settingsOf(id: string, as = token) {
    const result = await server.request(ConversationWithSettings, { id }, as);
    return result.data?.conversation?.settings;
  }

  /** Sends a message to the end of its reply; the model request it made. */
  async function send(conversationId: string, content: string, model?: string): Promise<RecordedRequest> {
    fake.script(FakeOpenAI.text([`re: ${content}`]));
    const before = fake.requests.length;
    const results = await collect(
      yogaSSE(server.url, SendMessage, { input: { conversationId, content, model } }, token),
      isCompleted,
    );
    const last = eventsOf(results).at(-1);
    expect(last?.__typename === "MessageCompleted" && last.message.status).toBe("COMPLETE");
    expect(fake.requests.length).toBe(before + 1);
    const request = fake.requests.at(-1);
    if (!request) throw new Error("no model request");
    return request;
  }

  it("starts at the server's defaults, and each setting changes, stays or resets on its own", async () => {
    const id = await newConversation();
    expect(await settingsOf(id)).toEqual({ model: null, systemPrompt: null, temperature: null });

    const set = await server.request(
      UpdateSettings,
      { input: { id, model: "other-model", temperature: 0.3, systemPrompt: "Answer in French." } },
      token,
    );
    expect(set.errors).toBeUndefined();
    expect(set.data?.updateConversationSettings.conversation.settings).toEqual({
      model: "other-model",
      systemPrompt: "Answer in French.",
      temperature: 0.3,
    });
    // Left out: kept. Null: back to the default. Blank prompt: none.
    const partial = await server.request(UpdateSettings, { input: { id, temperature: null } }, token);
    expect(partial.data?.updateConversationSettings.conversation.settings).toEqual({
      model: "other-model",
      systemPrompt: "Answer in French.",
      temperature: null,
    });
    await server.request(UpdateSettings, { input: { id, systemPrompt: "  " } }, token);
    expect(await settingsOf(id)).toEqual({ model: "other-model", systemPrompt: null, temperature: null });
  });

  it("asks the model with the conversation's model and temperature, its prompt after the server's", async () => {
    const id = await newConversation();
    await server.request(
      UpdateSettings,
      { input: { id, model: "other-model", temperature: 0.25, systemPrompt: "Answer in French." } },
      token,
    );
    const first = await send(id, "Bonjour");
    expect(first.body.model).toBe("other-model");
    expect(first.body.temperature).toBe(0.25);
    expect(first.body.messages[0]).toEqual({
      role: "system",
      content: `${SERVER_PROMPT}\n\nAnswer in French.`,
    });
    expect(first.body.messages.at(-1)).toEqual({ role: "user", content: "Bonjour" });

    // A send's own model wins over the setting, for that reply only; the reply stores the model it used.
    const chosen = await send(id, "Encore", "fake-model");
    expect(chosen.body.model).toBe("fake-model");
    expect(chosen.body.temperature).toBe(0.25);

    await server.request(
      UpdateSettings,
      { input: { id, model: null, temperature: null, systemPrompt: null } },
      token,
    );
    const reset = await send(id, "Again");
    expect(reset.body.model).toBe("fake-model");
    expect(reset.body).not.toHaveProperty("temperature");
    expect(reset.body.messages[0]).toEqual({ role: "system", content: SERVER_PROMPT });
  });

  it("refuses bad values, another user's conversation and bad ids, writing nothing", async () => {
    const id = await newConversation();
    await server.request(UpdateSettings, { input: { id, model: "other-model", temperature: 1 } }, token);
    const before = await server.runtime.prisma.conversation.findUniqueOrThrow({ where: { id: rawId(id) } });

    const refusals: [Record<string, unknown>, string, string | undefined][] = [
      [{ temperature: 2.5 }, "BAD_USER_INPUT", "temperature"],
      [{ temperature: -0.1 }, "BAD_USER_INPUT", "temperature"],
      [{ model: "not-allowed" }, "BAD_USER_INPUT", "model"],
      [{ model: "" }, "BAD_USER_INPUT", "model"],
      [{ systemPrompt: "x".repeat(101) }, "BAD_USER_INPUT", "systemPrompt"],
      // A good value beside a bad one is not written either.
      [{ model: "fake-model", temperature: 9 }, "BAD_USER_INPUT", "temperature"],
    ];
    for (const [values, code, field] of refusals) {
      const result = await server.request(UpdateSettings, { input: { id, ...values } }, token);
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(values)).toBe(code);
      expect(result.errors?.[0]?.extensions?.field).toBe(field);
    }
    const other = await server.request(
      UpdateSettings,
      { input: { id, temperature: 0.5 } },
      await tokenFor(`user-${randomUUID()}`),
    );
    expect(other.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const malformed = await server.request(
      UpdateSettings,
      { input: { id: "nope", temperature: 0.5 } },
      token,
    );
    expect(malformed.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const missing = await server.request(
      UpdateSettings,
      { input: { id: encodeGlobalID("Conversation", randomUUID()), temperature: 0.5 } },
      token,
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");

    const after = await server.runtime.prisma.conversation.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(after).toEqual(before);
  });

  it("copies the settings into a fork", async () => {
    const id = await newConversation();
    await server.request(
      UpdateSettings,
      { input: { id, model: "other-model", temperature: 0.7, systemPrompt: "Be brief." } },
      token,
    );
    await send(id, "Hello");
    const leaf = (await server.request(ConversationWithSettings, { id }, token)).data?.conversation
      ?.activeLeaf;
    if (!leaf) throw new Error("no leaf");
    const fork = await server.request(ForkConversation, { messageId: leaf.id }, token);
    const forkId = fork.data?.forkConversation.conversation.id;
    if (!forkId) throw new Error(JSON.stringify(fork.errors));
    expect(await settingsOf(forkId)).toEqual({
      model: "other-model",
      systemPrompt: "Be brief.",
      temperature: 0.7,
    });
  });
});

describe.each(testDatabaseKinds())("generated titles on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      TITLE_GENERATION: "true",
      TITLE_MODEL: "title-model",
      OPENAI_MAX_RETRIES: "0",
    });
    token = await tokenFor(`user-${randomUUID()}`);
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  const titles = () => {
    const writer = server.runtime.titles;
    if (!writer) throw new Error("title generation is off");
    return writer;
  };
  const titleRequests = () => fake.requests.filter((r) => r.body.model === "title-model");

  async function send(content: string, conversationId?: string) {
    const results = await collect(
      yogaSSE(server.url, SendMessage, { input: { content, conversationId } }, token),
      isCompleted,
    );
    return conversationIdOf(eventsOf(results));
  }
  async function titleOf(id: string) {
    return (await server.request(ConversationWithSettings, { id }, token)).data?.conversation?.title;
  }

  it("names a new conversation after its first reply, once, with the title model", async () => {
    fake.script(FakeOpenAI.text(["Paris in spring: ", "see the Tuileries."]), {
      chunks: [{ content: 'Title: **"Paris trip' }, { content: ' plans."**\nMore text' }],
    });
    const before = titleRequests().length;
    const id = await send("What should I see in Paris in April?\nWe are two.");
    // Until the model's title arrives, the first line of the message stands in.
    await titles().idle();
    expect(await titleOf(id)).toBe("Paris trip plans");

    const [request] = titleRequests().slice(before);
    expect(request?.body.messages).toEqual([
      { role: "system", content: TITLE_INSTRUCTIONS },
      {
        role: "user",
        content:
          "User: What should I see in Paris in April?\nWe are two.\n\nAssistant: Paris in spring: see the Tuileries.",
      },
    ]);

    // Later replies ask for no title.
    fake.script(FakeOpenAI.text(["More."]));
    await send("And in May?", id);
    await titles().idle();
    expect(titleRequests().length).toBe(before + 1);
    expect(await titleOf(id)).toBe("Paris trip plans");
  });

  it("replaces the default title of an empty conversation, but never one the user gave", async () => {
    const untitled = await server.request(CreateConversation, {}, token);
    const untitledId = untitled.data?.createConversation.conversation.id ?? "";
    expect(await titleOf(untitledId)).toBe("New conversation");
    fake.script(FakeOpenAI.text(["Hi!"]), FakeOpenAI.text(["Greetings"]));
    await send("Hello", untitledId);
    await titles().idle();
    expect(await titleOf(untitledId)).toBe("Greetings");

    const before = titleRequests().length;
    const named = await server.request(CreateConversation, { title: "My own" }, token);
    const namedId = named.data?.createConversation.conversation.id ?? "";
    fake.script(FakeOpenAI.text(["Hi!"]));
    await send("Hello", namedId);
    await titles().idle();
    expect(titleRequests().length).toBe(before);
    expect(await titleOf(namedId)).toBe("My own");
  });

  it("keeps a rename made while the title is being generated", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    fake.script(FakeOpenAI.text(["Sure."]), { chunks: [{ content: "Generated", gate }] });
    const before = titleRequests().length;
    const id = await send("Rename race");
    await waitFor(() => titleRequests().length > before, 10_000, "the title request");
    const renamed = await server.request(RenameConversation, { id, title: "Renamed by me" }, token);
    expect(renamed.errors).toBeUndefined();
    release();
    await titles().idle();
    expect(await titleOf(id)).toBe("Renamed by me");
  });

  it("keeps the title made from the message when the title model fails or says nothing", async () => {
    fake.script(FakeOpenAI.text(["Answer."]), { status: 400, errorMessage: "no titles today" });
    const failed = await send("Why is the sky blue?");
    await titles().idle();
    expect(await titleOf(failed)).toBe("Why is the sky blue?");

    fake.script(FakeOpenAI.text(["Answer."]), FakeOpenAI.text(["  \n", '""']));
    const empty = await send("Why is grass green?");
    await titles().idle();
    expect(await titleOf(empty)).toBe("Why is grass green?");
  });

  it("asks for no title after a failed first reply", async () => {
    fake.script({ status: 400, errorMessage: "model down" });
    const before = titleRequests().length;
    const id = await send("Is anyone there?");
    await titles().idle();
    expect(titleRequests().length).toBe(before);
    expect(await titleOf(id)).toBe("Is anyone there?");
  });
});

/** The database id inside a conversation's global id. */
const rawId = (id: string) => decodeGlobalID(id).id;
