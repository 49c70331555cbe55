import type { ChatMessage } from "./provider.js";

type Tokenizer = typeof import("gpt-tokenizer");
// The o200k tables cost half a second of CPU and about 50 MB: loaded with the first history fitted, not at
// start, so a server starts fast and idles small until it replies.
let tokenizer: Promise<Tokenizer> | undefined;

// Chat formats add a few tokens of framing per message (role markers, separators).
const PER_MESSAGE_OVERHEAD = 4;

/** Tokens a message costs in a prompt, counted with the o200k tokenizer (GPT-4o family; close for others). */
export async function messageTokens(message: ChatMessage): Promise<number> {
  tokenizer ??= import("gpt-tokenizer");
  const { countTokens } = await tokenizer;
  const toolCalls = message.role === "assistant" ? (message.toolCalls ?? []) : [];
  const callText = toolCalls.map((c) => `${c.name}${c.arguments}`).join("");
  return PER_MESSAGE_OVERHEAD + countTokens(message.content) + (callText ? countTokens(callText) : 0);
}

/**
 * The history a model sees: the system prompt, then the newest messages whose tokens fit the budget. Older
 * messages are dropped whole; a kept history never starts with tool results whose call was dropped. The
 * newest message is always kept, so a single oversized message still reaches the model.
 */
export async function fitHistory(
  systemPrompt: string | undefined,
  messages: ChatMessage[],
  budget: number,
): Promise<ChatMessage[]> {
  const system: ChatMessage[] = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
  let remaining = budget;
  for (const message of system) remaining -= await messageTokens(message);
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
