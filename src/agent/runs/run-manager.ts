import { activeReplyOf } from "../../db/conversations.js";
import { findMessageWithToolCalls } from "../../db/messages.js";
import { claimPausedReply, replyStatus } from "../../db/replies.js";
import type { MessageState } from "./events.js";
import type { RunNetwork } from "./network.js";
import { Run, RunCancelled, type RunDependencies, type RunOptions } from "./run.js";
import { TextFlusher } from "./text-flusher.js";

/**
 * The runs of this process: starts them, finds them by assistant message id, stops them, and winds them
 * down at shutdown.
 */
export class RunManager {
  private readonly runs = new Map<string, Run>();
  /** Streams waiting for a paused reply to resume here, by message id. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private accepting = true;
  private readonly deps: RunDependencies & { flusher: TextFlusher };

  constructor(deps: RunDependencies) {
    // One flusher for every reply of the process: their text is saved together, a few statements a second.
    this.deps = {
      ...deps,
      flusher: new TextFlusher(deps.prisma, deps.logger, deps.settings.flush.intervalMs),
    };
    deps.network?.onStop((messageId, reason) =>
      this.runs.get(messageId)?.cancel(reason === null ? undefined : new RunCancelled(reason)),
    );
  }

  /** The other instances, in multi-instance mode: replies running there are followed and stopped through it. */
  get network(): RunNetwork | undefined {
    return this.deps.network;
  }

  /** The tools replies may call. */
  get toolbox(): RunDependencies["toolbox"] {
    return this.deps.toolbox;
  }

  /** The assistant message ids of the replies this process is writing. */
  ids(): string[] {
    return [...this.runs.keys()];
  }

  /** Whether new replies may start (false once shutdown began). */
  get isAccepting(): boolean {
    return this.accepting;
  }

  /** How many replies this process is writing now. */
  get size(): number {
    return this.runs.size;
  }

  /**
   * Starts a reply for a freshly saved assistant placeholder, with the user message saved with it (null when
   * it answers an earlier one: a regenerated reply).
   */
  start(user: MessageState | null, assistant: MessageState, options: RunOptions) {
    return this.track(new Run(this.deps, user, assistant, options));
  }

  /**
   * Resumes a paused reply once none of its calls waits for a decision any more: claims it (one instance
   * wins, wherever the decisions were made) and runs it on here. Returns the run, or undefined when the
   * reply still waits, is not paused, or another instance claimed it.
   */
  async resumeIfReady(messageId: string): Promise<Run | undefined> {
    if (!this.accepting || !(await claimPausedReply(this.deps.prisma, messageId))) return undefined;
    return this.resumeClaimed(messageId, false);
  }

  /**
   * Resolves when a run of this reply starts here, after `timeoutMs`, or when `signal` aborts, whichever
   * comes first (streams waiting for a paused reply look again then).
   */
  waitForRun(messageId: string, signal: AbortSignal, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.waiting.get(messageId) ?? new Set();
      this.waiting.set(messageId, waiters);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(messageId) === waiters) this.waiting.delete(messageId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      signal.addEventListener("abort", done, { once: true });
      waiters.add(done);
      if (signal.aborted) done();
    });
  }

  private async resumeClaimed(messageId: string, cancelled: boolean): Promise<Run | undefined> {
    const assistant = await findMessageWithToolCalls(this.deps.prisma, messageId);
    if (!assistant) return undefined;
    return this.track(
      new Run(this.deps, null, assistant, { model: assistant.model ?? undefined, cancelled, resumed: true }),
    );
  }

  private track(run: Run): Run {
    this.runs.set(run.messageId, run);
    void run.done.then((final) => {
      if (this.runs.get(run.messageId) === run) this.runs.delete(run.messageId);
      this.deps.onReplyEnded?.(final);
    });
    for (const wake of [...(this.waiting.get(run.messageId) ?? [])]) wake();
    return run;
  }

  /** The run writing this assistant message in this process, if any. */
  get(messageId: string): Run | undefined {
    return this.runs.get(messageId);
  }

  /**
   * Stops a reply and waits for it to be saved: here, or through the network on the instance running it.
   * Resolves with the final message when it ran here, else undefined.
   */
  async stop(messageId: string): Promise<MessageState | undefined> {
    const run = this.runs.get(messageId);
    if (run) {
      run.cancel();
      const final = await run.done;
      // It paused before the stop reached it: cancel the paused reply.
      return final.status === "AWAITING_APPROVAL" ? this.stopPaused(messageId) : final;
    }
    const paused = await this.stopPaused(messageId);
    if (paused) return paused;
    await this.deps.network?.requestStop(messageId, null);
    return undefined;
  }

  /** Cancels a reply that waits for approval: claimed here and ended at once, its waiting calls `CANCELLED`. */
  private async stopPaused(messageId: string): Promise<MessageState | undefined> {
    if (!(await claimPausedReply(this.deps.prisma, messageId, true))) return undefined;
    return (await this.resumeClaimed(messageId, true))?.done;
  }

  /**
   * Resolves once a reply has ended, wherever it runs: its run here, its events through the network, else
   * (one instance, a reply another process wrote) its stored status, polled.
   */
  async waitForEnd(messageId: string): Promise<void> {
    const run = this.runs.get(messageId);
    if (run) {
      await run.done;
      return;
    }
    const network = this.deps.network;
    if (network) {
      const controller = new AbortController();
      try {
        for await (const event of network.follow(messageId, 0, controller.signal))
          if (event.type === "MessageCompleted") return;
      } finally {
        controller.abort();
      }
      return;
    }
    while ((await replyStatus(this.deps.prisma, messageId)) === "STREAMING") await delay(100);
  }

  /** Stops the reply running in a conversation (it is being deleted), wherever it runs, and waits for it. */
  async stopConversation(conversationId: string): Promise<void> {
    const reason = "The conversation was deleted";
    const stopping = [...this.runs.values()].filter((r) => r.conversationId === conversationId);
    for (const run of stopping) run.cancel(new RunCancelled(reason));
    const remote =
      this.deps.network && stopping.length === 0
        ? await activeReplyOf(this.deps.prisma, conversationId)
        : null;
    await Promise.all([
      ...stopping.map((r) => r.done),
      remote && this.deps.network?.requestStop(remote, reason),
    ]);
  }

  /**
   * Refuses new replies, lets running ones finish for up to `graceMs`, then cancels the rest; resolves once
   * every reply is saved.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    const running = [...this.runs.values()];
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(running.map((r) => r.done)), grace]);
    clearTimeout(timer);
    for (const run of this.runs.values())
      run.cancel(new RunCancelled("The server shut down before the reply ended"));
    await Promise.all(running.map((r) => r.done));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
