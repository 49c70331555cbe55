import type { Config } from "../core/config.js";
import { BadUserInputError } from "../core/errors.js";
import { DEFAULT_TITLE } from "./conversations.js";
import { normalizeTitle } from "./text.js";

const MAX_CLIENT_MESSAGE_ID = 128;
const MAX_MODEL_NAME = 128;
/** How long a title made from a message may be before it is cut at a word boundary. */
const TITLE_FROM_MESSAGE_LENGTH = 60;

/** Checks `sendMessage`'s input against the limits; nothing is written when this throws. */
export function checkSendInput(
  input: { content: string; clientMessageId?: string | null; model?: string | null },
  config: Config,
  withAttachments = false,
) {
  const { content } = input;
  if (content.trim() === "" && !withAttachments)
    throw new BadUserInputError("Message must not be empty", "content");
  if (content.length > config.limits.messageLength) {
    throw new BadUserInputError(
      `Message must be at most ${config.limits.messageLength} characters`,
      "content",
    );
  }
  const clientMessageId = input.clientMessageId ?? null;
  if (
    clientMessageId !== null &&
    (clientMessageId.length === 0 || clientMessageId.length > MAX_CLIENT_MESSAGE_ID)
  ) {
    throw new BadUserInputError(
      `clientMessageId must be 1 to ${MAX_CLIENT_MESSAGE_ID} characters`,
      "clientMessageId",
    );
  }
  const model = checkModel(input.model ?? null, config);
  return { content, clientMessageId, model };
}

/** A conversation title from its first message: the first line, cut at a word boundary. */
export function titleFromMessage(content: string, maxLength: number): string {
  const line = content.trim().split(/\r?\n/, 1)[0]?.replace(/\s+/g, " ") ?? "";
  const limit = Math.min(TITLE_FROM_MESSAGE_LENGTH, maxLength);
  if (line.length <= limit) return line === "" ? DEFAULT_TITLE : normalizeTitle(line, maxLength);
  const cut = line.slice(0, limit - 1);
  const atWord = cut.lastIndexOf(" ") > limit / 2 ? cut.slice(0, cut.lastIndexOf(" ")) : cut;
  return normalizeTitle(`${atWord.trimEnd()}…`, maxLength);
}

/** Checks a requested model name against the limits and the allowed models; null asks for the default. */
export function checkModel(model: string | null, config: Config): string | null {
  if (model === null) return null;
  if (model.length === 0 || model.length > MAX_MODEL_NAME) {
    throw new BadUserInputError(`model must be 1 to ${MAX_MODEL_NAME} characters`, "model");
  }
  const allowed = config.openai.allowedModels;
  if (allowed && !allowed.includes(model)) {
    throw new BadUserInputError(`model must be one of: ${allowed.join(", ")}`, "model");
  }
  return model;
}
