import type { BlobStore } from "../../db/blobs.js";
import type { Db } from "../../db/client.js";
import { type ConversationSettings, conversationSettings } from "../../db/conversations.js";
import type { Logger } from "../../observability/logger.js";
import { fitHistory } from "../model/history.js";
import { ModelError, type ModelProvider, type Usage } from "../model/provider.js";
import type { ToolAddress, Toolbox } from "../tools/tools.js";
import { withAttachments } from "./attachments.js";
import { RunChannel } from "./channel.js";
import { loadConversationHistory, toChatMessages } from "./conversation-history.js";
import type { MessageState, RunEvent } from "./events.js";
import type { RunNetwork } from "./network.js";
import { ignoreRuns, type RunObserver } from "./observer.js";
import { type ReplyOutcome, ReplyWriter } from "./reply-writer.js";
import type { TextFlusher } from "./text-flusher.js";
import { type LoopOutcome, ToolLoop, type ToolSettings } from "./tool-loop.js";
import type { ViewerEvents } from "./viewer-events.js";

/** Settings shared by all runs. */
export interface RunSettings {
  systemPrompt?: string;
  historyTokenBudget: number;
  historyMaxMessages: number;
  eventBufferSize: number;
  /** Streamed text is saved in batches, at most once per interval per reply. */
  flush: { intervalMs: number };
  tools: ToolSettings;
}

/** What a run needs from the process. */
export interface RunDependencies {
  prisma: Db;
  /** Where attachments' bytes are read from, to give them to the model. */
  blobs: BlobStore;
  provider: ModelProvider;
  /** The tools replies may call (MCP servers), acting for the user who sent the message. */
  toolbox: Toolbox;
  logger: Logger;
  settings: RunSettings;
  /** The other instances, in multi-instance mode. */
  network?: RunNetwork;
  /** Told of every event and of each reply's end (metrics). */
  observer?: RunObserver;
  /** Told of each reply once it has ended and been saved (or paused for approval). */
  onReplyEnded?: (reply: MessageState) => void;
  /** Where the owner's tabs hear that a reply started and ended (`viewerEvents`). */
  viewerEvents: ViewerEvents;
}

/** Per-reply options. */
export interface RunOptions {
  /** The model this reply asks for (a send's own choice), before the conversation's setting. */
  model?: string;
  /** The conversation's settings when the caller knows them (a new conversation's); else they are read. */
  settings?: ConversationSettings;
  /**
   * Whether the user's new message carries attachments, when the send knows: a first exchange's history is
   * that message alone, so one that carries none needs no lookup of attachments.
   */
  userSentFiles?: boolean;
  /** The model is not called before this settles (the first event reaches the client first). */
  holdModelUntil?: Promise<unknown>;
  /** The fields of the log lines of the request that started the reply (its id follows the reply). */
  logFields?: object;
  /**
   * What the send holds for as long as the reply runs (its slot among the user's concurrent replies),
   * released once the run has ended.
   */
  held?: { release(): Promise<void> };
  /** Stop at once (a paused reply being cancelled): nothing runs, the reply ends `CANCELLED`. */
  cancelled?: boolean;
  /**
   * A paused reply resumed once its tool calls were decided: it was announced when it started, so no
   * `MessageCreated`; its stream goes on from its `lastSeq`.
   */
  resumed?: boolean;
}

/** Why a run stops when its reply was deleted or ended by another instance meanwhile. */
const LOST_REPLY = "The reply was deleted or ended elsewhere";

/** Why a run was cancelled; the message stores it when it is not the user's own stop. */
export class RunCancelled extends Error {
  override readonly name = "RunCancelled";
}

/**
 * One assistant reply being written: it lives independently of the connections watching it. It numbers
 * and publishes its events, saves the text in batches, and ends with `MessageCompleted`, or pauses (ends
 * without it, the reply stored `AWAITING_APPROVAL`) when tool calls wait for the user's approval; a later
 * run resumes it from the database (`RunOptions.resumed`), on whichever instance the decision reaches.
 */
export class Run {
  readonly messageId: string;
  readonly conversationId: string;
  readonly channel: RunChannel;
  /** Resolves with the stored final message once the run has ended (it never rejects). */
  readonly done: Promise<MessageState>;
  private readonly writer: ReplyWriter;
  private readonly controller = new AbortController();
  /** The model asked for: the send's, else the conversation's setting (known once read), else the default. */
  private model: string;
  private readonly observer: RunObserver;
  private readonly startedAt = Date.now();
  private historyMs: number | null = null;
  private firstTokenMs: number | null = null;
  private loop: ToolLoop | undefined;

  constructor(
    private readonly deps: RunDependencies & { flusher: TextFlusher },
    /**
     * The user's new message; null when the reply answers one already saved (a regenerated reply) or is
     * resumed (see `RunOptions.resumed`).
     */
    private readonly user: MessageState | null,
    private readonly assistant: MessageState,
    private readonly options: RunOptions,
  ) {
    this.messageId = assistant.id;
    this.conversationId = assistant.conversationId;
    this.model = options.model ?? deps.provider.defaultModel;
    this.observer = deps.observer ?? ignoreRuns;
    const resumed = options.resumed === true;
    this.channel = new RunChannel(
      deps.settings.eventBufferSize,
      assistant.lastSeq,
      (event) => {
        if (event.type === "TextDelta" && this.firstTokenMs === null) {
          this.firstTokenMs = Date.now() - this.startedAt;
        }
        this.observer.event(event);
        deps.network?.publish(this.messageId, event);
      },
      deps.settings.tools.resultEventMaxChars,
    );
    this.writer = new ReplyWriter(
      deps.prisma,
      assistant.id,
      deps.flusher,
      () => this.cancel(new RunCancelled(LOST_REPLY)),
      assistant,
    );
    if (!resumed) {
      if (user) this.channel.emit({ type: "MessageCreated", message: user });
      this.channel.emit({ type: "MessageCreated", message: assistant });
    }
    if (options.cancelled) this.cancel();
    // A paused reply cancelled at once never runs: its tabs hear only that it finished.
    else
      deps.viewerEvents.publish(assistant.ownerId, {
        type: "ReplyStarted",
        conversationId: this.conversationId,
        messageId: this.messageId,
        userMessageId: assistant.parentId,
      });
    this.done = this.execute(options.holdModelUntil);
  }

  /** Database writes made so far for the reply's text and final state. */
  get writes(): number {
    return this.writer.writes;
  }

  /** Stops the reply: the model call is aborted and the message ends `CANCELLED` with its text so far. */
  cancel(reason: RunCancelled = new RunCancelled("Stopped")): void {
    this.controller.abort(reason);
  }

  /** The reply as it stands, for a client whose resume point has left the buffer. */
  snapshot(): RunEvent {
    return {
      type: "MessageSnapshot",
      seq: this.channel.lastSeq,
      message: {
        ...this.assistant,
        content: this.writer.content,
        reasoning: this.writer.reasoning === "" ? null : this.writer.reasoning,
        lastSeq: this.channel.lastSeq,
        toolCalls: [...(this.loop?.calls ?? this.assistant.toolCalls)],
      },
    };
  }

  /**
   * Writes a line of the reply's log: the process's logger with the request's fields (its id, the user)
   * and the reply's ids as fields. Not a child logger: a pino child costs a few KB and microseconds to
   * make (a third of what logging a line cost a send, sampling heap profile), a child kept would be held
   * for as long as the reply streams, and a child of the request's logger would make that logger a
   * prototype with hidden classes of its own for every request.
   */
  private log(level: "info" | "warn" | "error", fields: object, message: string): void {
    this.deps.logger[level](
      {
        ...this.options.logFields,
        messageId: this.messageId,
        conversationId: this.conversationId,
        ...fields,
      },
      message,
    );
  }

  /**
   * Runs the reply and stores its end. Not an async function waiting for the loop: that would keep a
   * suspended frame, its registers and promise for as long as the reply streams (0.3 KB of every open
   * stream, heap snapshots of 1,000); the end is the loop's promise's callback instead.
   */
  private execute(holdModelUntil: Promise<unknown> | undefined): Promise<MessageState> {
    this.log("info", { model: this.model }, "reply started");
    return this.generate(holdModelUntil).then(
      (loop) =>
        this.end(
          {
            status: loop.paused ? "AWAITING_APPROVAL" : "COMPLETE",
            error: null,
            usage: loop.usage,
            model: this.model,
          },
          false,
        ),
      (error: unknown) => {
        const outcome = this.failure(error, {
          status: "COMPLETE",
          error: null,
          usage: null,
          model: this.model,
        });
        if (outcome.status === "FAILED") this.log("warn", { err: error }, "reply failed");
        return this.end(outcome, error instanceof ModelError);
      },
    );
  }

  /** Stores the reply's end (or pause), tells its watchers, and frees what the send held. */
  private async end(outcome: ReplyOutcome, modelFailed: boolean): Promise<MessageState> {
    const paused = outcome.status === "AWAITING_APPROVAL";
    // A pause is no event: the stream goes on when the reply resumes.
    const finalSeq = paused ? this.channel.lastSeq : this.channel.lastSeq + 1;
    if (!paused)
      await this.loop
        ?.cancelPending()
        .catch((error) => this.log("warn", { err: error }, "could not cancel tool calls"));
    const toolCalls = [...(this.loop?.calls ?? this.assistant.toolCalls)];
    let final: MessageState | null = null;
    try {
      final = await this.writer.finish(outcome, finalSeq, this.conversationId, toolCalls);
    } catch (error) {
      this.log("error", { err: error }, "could not save the end of a reply");
    }
    final ??= {
      ...this.assistant,
      ...outcome,
      content: this.writer.content,
      reasoning: this.writer.reasoning === "" ? null : this.writer.reasoning,
      lastSeq: finalSeq,
      promptTokens: outcome.usage?.promptTokens ?? null,
      completionTokens: outcome.usage?.completionTokens ?? null,
      totalTokens: outcome.usage?.totalTokens ?? null,
      updatedAt: new Date(),
      toolCalls,
    };
    // The end is stored: telling of it (the watchers, the viewer's events, the log, the metrics) failing is
    // logged, and the run is over all the same. Its watchers are let go and the send's slot freed: a run
    // left tracked, or a slot kept, would refuse the user's sends until its expiry.
    try {
      if (!paused) this.channel.emit({ type: "MessageCompleted", message: final });
      // Paused too: the reply no longer runs; it starts again (ReplyStarted) once its calls are decided.
      if (final.status !== "STREAMING" && final.status !== "QUEUED")
        this.deps.viewerEvents.publish(this.assistant.ownerId, {
          type: "ReplyFinished",
          conversationId: this.conversationId,
          messageId: this.messageId,
          status: final.status,
        });
      const totalMs = Date.now() - this.startedAt;
      this.log(
        "info",
        {
          status: final.status,
          writes: this.writer.writes,
          events: this.channel.lastSeq,
          ms: totalMs,
          firstTokenMs: this.firstTokenMs,
          totalTokens: outcome.usage?.totalTokens,
        },
        "reply ended",
      );
      this.observer.ended({
        messageId: this.messageId,
        model: this.model,
        status: outcome.status,
        usage: outcome.usage,
        modelError: outcome.status === "FAILED" && modelFailed,
        durations: { historyMs: this.historyMs, firstTokenMs: this.firstTokenMs, totalMs },
      });
    } catch (error) {
      this.log("error", { err: error }, "could not tell of the end of a reply");
    } finally {
      this.channel.close();
      void this.options.held?.release();
    }
    return final;
  }

  private async generate(holdModelUntil: Promise<unknown> | undefined): Promise<LoopOutcome> {
    const { prisma, provider, toolbox, settings } = this.deps;
    const signal = this.controller.signal;
    // Read beside the history (not after it): a reply waits for no extra round trip.
    const known = this.options.settings;
    const reading = known ? Promise.resolve(known) : conversationSettings(prisma, this.conversationId);
    // Awaited below; a failing history read must not leave its rejection unhandled.
    reading.catch(() => {});
    const replay = {
      toolName: (call: ToolAddress) => toolbox.modelName(call),
      resultMaxChars: settings.tools.resultMaxChars,
    };
    this.loop = new ToolLoop(
      {
        prisma,
        provider,
        toolbox,
        settings: settings.tools,
        userId: this.assistant.ownerId,
        conversationId: this.conversationId,
        messageId: this.messageId,
        channel: this.channel,
        writer: this.writer,
        signal,
      },
      this.assistant.toolCalls,
    );
    signal.throwIfAborted();
    // A first exchange has no history but the user's message, already in hand; otherwise the path to the
    // reply's parent (only that branch).
    const parentId = this.assistant.parentId;
    const firstExchange = this.user?.parentId === null && this.user.id === parentId;
    const stored =
      this.user && firstExchange
        ? toChatMessages([this.user], replay)
        : parentId === null
          ? []
          : await loadConversationHistory(prisma, parentId, settings.historyMaxMessages, replay);
    const conversation = await reading;
    this.model = this.options.model ?? conversation.model ?? provider.defaultModel;
    let from = { round: 0, usage: null as Usage | null };
    if (this.options.resumed) {
      // Resumed: the decided calls run first; the model then sees the reply so far as its own turns.
      from = { round: await this.loop.resume(), usage: storedUsage(this.assistant) };
      signal.throwIfAborted();
      const sofar = { ...this.assistant, content: this.writer.content, toolCalls: this.loop.calls };
      stored.push(...toChatMessages([sofar], replay));
    }
    const withFiles =
      firstExchange && this.options.userSentFiles === false
        ? stored
        : await withAttachments(prisma, this.deps.blobs, stored, (fields, message) =>
            this.log("warn", fields, message),
          );
    const systemPrompt = joinPrompts(settings.systemPrompt, conversation.systemPrompt);
    const messages = await fitHistory(systemPrompt, withFiles, settings.historyTokenBudget);
    this.historyMs = Date.now() - this.startedAt;
    if (holdModelUntil) await holdModelUntil;
    signal.throwIfAborted();
    return this.loop.run(messages, from, {
      model: this.model,
      temperature: conversation.temperature ?? undefined,
    });
  }

  /** Whether the run paused for approval rather than ended (known once `done` resolves). */
  static paused(message: MessageState): boolean {
    return message.status === "AWAITING_APPROVAL";
  }

  private failure(error: unknown, outcome: ReplyOutcome): ReplyOutcome {
    if (this.controller.signal.aborted) {
      const reason = this.controller.signal.reason;
      const why = reason instanceof RunCancelled && reason.message !== "Stopped" ? reason.message : null;
      return { ...outcome, status: "CANCELLED", error: why };
    }
    const message = error instanceof ModelError ? error.message : "The reply failed unexpectedly";
    return { ...outcome, status: "FAILED", error: message };
  }
}

/**
 * The server's system prompt, then the conversation's own instructions: a conversation adds to what the
 * operator set and cannot remove it.
 */
function joinPrompts(server: string | undefined, conversation: string | null): string | undefined {
  const parts = [server, conversation].filter((p): p is string => Boolean(p));
  return parts.length === 0 ? undefined : parts.join("\n\n");
}

/** The usage a paused reply had stored, to add the rest of its model calls to. */
function storedUsage(message: MessageState): Usage | null {
  const { promptTokens, completionTokens, totalTokens } = message;
  if (promptTokens === null || completionTokens === null || totalTokens === null) return null;
  return { promptTokens, completionTokens, totalTokens };
}
