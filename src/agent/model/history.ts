import { attachmentText, imageTokens, omittedAttachment } from "./attachments.js";
import type { ChatMessage } from "./provider.js";

type Tokenizer = typeof import("gpt-tokenizer");
// The o200k tables cost half a second of CPU and about 50 MB to load, so they are loaded only for the first
// history that may not fit its budget (see fitHistory): most conversations never need them.
let tokenizer: Promise<Tokenizer> | undefined;

/** Loads the tokenizer (once). */
export function loadTokenizer(): Promise<Tokenizer> {
  tokenizer ??= import("gpt-tokenizer");
  return tokenizer;
}

// Chat formats add a few tokens of framing per message (role markers, separators).
const PER_MESSAGE_OVERHEAD = 4;
// Text such as `<|endoftext|>` that a user writes is counted as the text it is, never as a special token
// (the tokenizer would refuse it by default and fail the reply).
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The text a message puts in a prompt besides its framing and images: its content, its tool calls, and its
 * attachments' text.
 */
function promptText(message: ChatMessage): [string, string] {
  const toolCalls = message.role === "assistant" ? (message.toolCalls ?? []) : [];
  const attached = message.role === "user" ? (message.attachments ?? []).map(attachmentText).join("") : "";
  return [message.content + attached, toolCalls.map((c) => `${c.name}${c.arguments}`).join("")];
}

/** Tokens of a message's images, by the tile formula. */
function imagesTokens(message: ChatMessage): number {
  if (message.role !== "user") return 0;
  return (message.attachments ?? []).reduce(
    (sum, a) => sum + (a.kind === "image" ? imageTokens(a.width, a.height) : 0),
    0,
  );
}

/** Tokens a message costs in a prompt, counted with the o200k tokenizer (GPT-4o family; close for others). */
export async function messageTokens(message: ChatMessage): Promise<number> {
  const { countTokens } = await loadTokenizer();
  const [content, callText] = promptText(message);
  return (
    PER_MESSAGE_OVERHEAD +
    countTokens(content, PLAIN_TEXT) +
    (callText ? countTokens(callText, PLAIN_TEXT) : 0) +
    imagesTokens(message)
  );
}

/**
 * At least as many tokens as {@link messageTokens} counts, without the tokenizer: a byte-level BPE token
 * holds one UTF-8 byte or more, so a text has at most as many tokens as bytes.
 */
export function messageTokensAtMost(message: ChatMessage): number {
  const [content, callText] = promptText(message);
  return (
    PER_MESSAGE_OVERHEAD + Buffer.byteLength(content) + Buffer.byteLength(callText) + imagesTokens(message)
  );
}

/**
 * The history a model sees: the system prompt, then the newest messages whose tokens fit the budget. Earlier
 * messages' attachments give way first, oldest first, each to a short note; then older messages are dropped
 * whole; a kept history never starts with tool results whose call was dropped. The newest message is always
 * kept with its attachments, so a single oversized message still reaches the model.
 */
export async function fitHistory(
  systemPrompt: string | undefined,
  given: ChatMessage[],
  budget: number,
): Promise<ChatMessage[]> {
  const system: ChatMessage[] = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
  // Usually everything fits even counted a token per byte: then no message is tokenized at all.
  const atMost = [...system, ...given].reduce((sum, m) => sum + messageTokensAtMost(m), 0);
  if (atMost <= budget) return [...system, ...given];
  let remaining = budget;
  for (const message of system) remaining -= await messageTokens(message);
  const messages = await withoutOldAttachments(given, remaining);
  let start = messages.length;
  while (start > 0) {
    const cost = await messageTokens(messages[start - 1] as ChatMessage);
    if (cost > remaining && start < messages.length) break;
    remaining -= cost;
    start--;
  }
  while (start < messages.length - 1 && messages[start]?.role === "tool") start++;
  return [...system, ...messages.slice(start)];
}

/**
 * The messages with earlier messages' attachments turned into notes, oldest first, until the whole fits
 * `budget` or only the newest message's are left.
 */
async function withoutOldAttachments(messages: ChatMessage[], budget: number): Promise<ChatMessage[]> {
  const costs = await Promise.all(messages.map(messageTokens));
  let total = costs.reduce((sum, c) => sum + c, 0);
  const fitted = [...messages];
  for (let i = 0; i < fitted.length - 1 && total > budget; i++) {
    const message = fitted[i] as ChatMessage;
    if (message.role !== "user" || !message.attachments?.some((a) => a.kind !== "note")) continue;
    const attachments = [...message.attachments];
    for (let j = 0; j < attachments.length && total > budget; j++) {
      const attachment = attachments[j];
      if (!attachment || attachment.kind === "note") continue;
      attachments[j] = omittedAttachment(attachment.name);
      const lighter = { ...message, attachments: [...attachments] };
      const cost = await messageTokens(lighter);
      total -= (costs[i] as number) - cost;
      costs[i] = cost;
      fitted[i] = lighter;
    }
  }
  return fitted;
}
