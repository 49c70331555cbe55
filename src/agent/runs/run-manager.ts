import { activeReplyOf } from "../../db/conversations.js";
import { replyStatus } from "../../db/replies.js";
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
    const run = new Run(this.deps, user, assistant, options);
    this.runs.set(run.messageId, run);
    void run.done.finally(() => this.runs.delete(run.messageId));
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
    if (!run) {
      await this.deps.network?.requestStop(messageId, null);
      return undefined;
    }
    run.cancel();
    return run.done;
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
