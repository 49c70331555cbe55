import type { Conversation } from "../db/generated/prisma/client.js";
import { MAX_TEMPERATURE, MIN_TEMPERATURE, updateConversationSettings } from "../resolvers/settings.js";
import { builder } from "./builder.js";
import { conversationPayload } from "./conversation.js";

/** Read from the conversation's own row: the settings cost no extra statement. */
const ConversationSettingsRef = builder
  .objectRef<Pick<Conversation, "model" | "systemPrompt" | "temperature">>("ConversationSettings")
  .implement({
    description: "How the conversation's replies are asked for; each null uses the server's default.",
    fields: (t) => ({
      model: t.exposeString("model", {
        nullable: true,
        description: "The model replies use unless a send names one; null: the server's default model.",
      }),
      systemPrompt: t.exposeString("systemPrompt", {
        nullable: true,
        description:
          "Instructions for this conversation, sent to the model after the server's own system prompt.",
      }),
      temperature: t.exposeFloat("temperature", {
        nullable: true,
        description: "Sampling temperature; null: the model's default.",
      }),
    }),
  });

builder.prismaObjectField("Conversation", "settings", (t) =>
  t.field({
    type: ConversationSettingsRef,
    select: { model: true, systemPrompt: true, temperature: true },
    resolve: (conversation) => conversation,
  }),
);

const UpdateConversationSettingsInput = builder.inputType("UpdateConversationSettingsInput", {
  description: "A setting left out stays as it is; null returns it to the server's default.",
  fields: (t) => ({
    id: t.id({ required: true }),
    model: t.string({
      description: "One of the allowed models (OPENAI_MODELS), when the server names them.",
    }),
    systemPrompt: t.string({ description: "Blank: none (the server's own system prompt still applies)." }),
    temperature: t.float({ description: `From ${MIN_TEMPERATURE} to ${MAX_TEMPERATURE}.` }),
  }),
});
const UpdateConversationSettingsPayload = conversationPayload("UpdateConversationSettingsPayload");

builder.mutationField("updateConversationSettings", (t) =>
  t.field({
    type: UpdateConversationSettingsPayload,
    description:
      "Changes the model, system prompt or temperature of a conversation's next replies; nothing is written when a value is refused.",
    args: { input: t.arg({ type: UpdateConversationSettingsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await updateConversationSettings(ctx, { ...input, id: String(input.id) }),
    }),
  }),
);
