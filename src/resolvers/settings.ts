import { BadUserInputError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import * as conversations from "../db/conversations.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { checkModel } from "./send-input.js";
import { updated } from "./viewer-events.js";

/** The temperatures OpenAI-compatible endpoints accept. */
export const MIN_TEMPERATURE = 0;
export const MAX_TEMPERATURE = 2;

/** `updateConversationSettings`'s input as the schema gives it: absent keeps a setting, null resets it. */
export interface SettingsInput {
  id: string;
  model?: string | null;
  systemPrompt?: string | null;
  temperature?: number | null;
}

/**
 * Changes a conversation's settings for its next replies. Every value is checked before anything is
 * written; a blank system prompt is no prompt (the server's own still applies).
 */
export async function updateConversationSettings(ctx: Context, input: SettingsInput) {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(input.id, "Conversation");
  const patch: Partial<conversations.ConversationSettings> = {};
  if (input.model !== undefined) patch.model = checkModel(input.model, ctx.config);
  if (input.systemPrompt !== undefined) patch.systemPrompt = checkSystemPrompt(input.systemPrompt, ctx);
  if (input.temperature !== undefined) patch.temperature = checkTemperature(input.temperature);
  return updated(ctx, await conversations.updateConversationSettings(ctx.prisma, viewer.id, id, patch));
}

function checkSystemPrompt(prompt: string | null, ctx: Context): string | null {
  if (prompt === null || prompt.trim() === "") return null;
  const max = ctx.config.limits.systemPromptLength;
  if (prompt.length > max)
    throw new BadUserInputError(`systemPrompt must be at most ${max} characters`, "systemPrompt");
  return prompt;
}

function checkTemperature(temperature: number | null): number | null {
  if (temperature === null) return null;
  if (!(temperature >= MIN_TEMPERATURE && temperature <= MAX_TEMPERATURE))
    throw new BadUserInputError(
      `temperature must be from ${MIN_TEMPERATURE} to ${MAX_TEMPERATURE}`,
      "temperature",
    );
  return temperature;
}
