import type { Db } from "../../db/client.js";
import { claimTitle, saveGeneratedTitle } from "../../db/conversations.js";
import { findMessage } from "../../db/messages.js";
import type { Logger } from "../../observability/logger.js";
import type { ModelProvider } from "../model/provider.js";
import type { MessageState } from "./events.js";

/** What the title model is told: short, in the conversation's language, nothing around it. */
export const TITLE_INSTRUCTIONS =
  "Write a title of at most six words for the conversation below, in the language of the user's message. " +
  "Reply with the title alone: no quotes, no trailing period, no prefix such as 'Title:'.";

/** How much of each message the title model reads: the gist is at the start, and the request stays small. */
const EXCERPT_CHARS = 1_500;

/** What the title writer needs from the process. */
export interface TitleWriterOptions {
  prisma: Db;
  provider: ModelProvider;
  /** The model asked for titles; absent: the provider's default. */
  model?: string;
  /** Longest title stored (MAX_TITLE_LENGTH). */
  maxLength: number;
  /** Longest wait for a title before the conversation keeps the one it has. */
  timeoutMs: number;
  logger: Logger;
  /** Told of each conversation whose title was generated (so open lists can follow). */
  onTitle?: (conversation: { id: string; ownerId: string; title: string }) => void;
}

/**
 * Names conversations after their first reply, as ChatGPT and Claude do: one short model request per
 * conversation, whose answer replaces the title made from the first message unless the user named the
 * conversation (before or meanwhile). A failed or empty answer leaves the title as it was.
 */
export class TitleWriter {
  private readonly pending = new Set<Promise<void>>();
  private readonly controller = new AbortController();

  constructor(private readonly o: TitleWriterOptions) {}

  /** Called when a reply ended: a conversation's first complete reply starts its title request. */
  afterReply(reply: MessageState): void {
    // The first reply sits at depth 2, under the opening message (a regenerated one too, if the first failed).
    if (reply.status !== "COMPLETE" || reply.depth > 2 || reply.parentId === null) return;
    if (reply.content.trim() === "" || this.controller.signal.aborted) return;
    const work = this.write(reply, reply.parentId)
      .catch((error: unknown) => {
        if (!this.controller.signal.aborted)
          this.o.logger.warn({ err: error, conversationId: reply.conversationId }, "no generated title");
      })
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  /** Resolves once no title request is running (tests; shutdown after {@link close}). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Abandons running requests (their conversations keep their titles) and waits for them to end. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.idle();
  }

  private async write(reply: MessageState, questionId: string): Promise<void> {
    const { prisma, provider } = this.o;
    if (!(await claimTitle(prisma, reply.conversationId))) return;
    const question = await findMessage(prisma, questionId, { select: { content: true } });
    if (!question) return;
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.o.timeoutMs)]);
    let text = "";
    for await (const event of provider.stream({
      messages: [
        { role: "system", content: TITLE_INSTRUCTIONS },
        {
          role: "user",
          content: `User: ${excerpt(question.content)}\n\nAssistant: ${excerpt(reply.content)}`,
        },
      ],
      model: this.o.model,
      signal,
    })) {
      if (event.type === "text") text += event.delta;
    }
    const title = cleanTitle(text, this.o.maxLength);
    if (title === null) return;
    const saved = await saveGeneratedTitle(prisma, reply.conversationId, title);
    if (saved) this.o.onTitle?.(saved);
  }
}

function excerpt(text: string): string {
  return text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS)}…`;
}

// C0/C1 control characters: invisible, and trouble for the terminals and logs that later show a title.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * The title in a model's answer: its first non-empty line without the decoration models add anyway (a
 * "Title:" label, quotes, Markdown emphasis or heading marks, a final period), cut to `maxLength` at a word;
 * null when nothing is left.
 */
export function cleanTitle(answer: string, maxLength: number): string | null {
  const line = answer
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== "");
  if (line === undefined) return null;
  const title = line
    .replace(/\s+/g, " ")
    .replace(CONTROL, "")
    .replace(/^#+\s*/, "")
    .replace(/^(title|titre|título|titel)\s*:\s*/i, "")
    .replace(/^[*_"'“”‘’«»`]+|[*_"'“”‘’«»`]+$/g, "")
    .replace(/\.$/, "")
    .trim();
  if (title === "") return null;
  if (title.length <= maxLength) return title;
  const cut = title.slice(0, maxLength - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > maxLength / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
