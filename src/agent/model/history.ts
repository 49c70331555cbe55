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

/** The text a message puts in a prompt besides its framing: its content and its tool calls. */
function promptText(message: ChatMessage): [string, string] {
  const toolCalls = message.role === "assistant" ? (message.toolCalls ?? []) : [];
  return [message.content, toolCalls.map((c) => `${c.name}${c.arguments}`).join("")];
}

/** Tokens a message costs in a prompt, counted with the o200k tokenizer (GPT-4o family; close for others). */
export async function messageTokens(message: ChatMessage): Promise<number> {
  const { countTokens } = await loadTokenizer();
  const [content, callText] = promptText(message);
  return (
    PER_MESSAGE_OVERHEAD +
    countTokens(content, PLAIN_TEXT) +
    (callText ? countTokens(callText, PLAIN_TEXT) : 0)
  );
}

/**
 * At least as many tokens as {@link messageTokens} counts, without the tokenizer: a byte-level BPE token
 * holds one UTF-8 byte or more, so a text has at most as many tokens as bytes.
 */
export function messageTokensAtMost(message: ChatMessage): number {
  const [content, callText] = promptText(message);
  return PER_MESSAGE_OVERHEAD + Buffer.byteLength(content) + Buffer.byteLength(callText);
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
  // Usually everything fits even counted a token per byte: then no message is tokenized at all.
  const atMost = [...system, ...messages].reduce((sum, m) => sum + messageTokensAtMost(m), 0);
  if (atMost <= budget) return [...system, ...messages];
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
