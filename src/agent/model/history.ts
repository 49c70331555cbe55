import type { ChatMessage } from "./provider.js";

type Tokenizer = typeof import("gpt-tokenizer");
// The o200k tables cost half a second of CPU and about 50 MB to load, a synchronous stretch that must not
// fall inside a running reply (with several instances its lease could lapse meanwhile): the runtime starts
// loading them in the background once everything else is up, so they do not hold up the start either.
let tokenizer: Promise<Tokenizer> | undefined;

/** Loads the tokenizer (once); fitting a history waits for it. */
export function loadTokenizer(): Promise<Tokenizer> {
  tokenizer ??= import("gpt-tokenizer");
  return tokenizer;
}

// Chat formats add a few tokens of framing per message (role markers, separators).
const PER_MESSAGE_OVERHEAD = 4;

/** Tokens a message costs in a prompt, counted with the o200k tokenizer (GPT-4o family; close for others). */
export async function messageTokens(message: ChatMessage): Promise<number> {
  const { countTokens } = await loadTokenizer();
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
