import { Readable } from "node:stream";
import OpenAI from "openai";
import { Sweep } from "../../core/sweep.js";
import { fromOpenAIChunk } from "./openai-mapping.js";
import type { ChunkDecoder } from "./openai-sse.js";
import { ModelError, type ModelEvent, type ModelRequest } from "./provider.js";

/** A model's response once it has started: its body and the decoder of its server-sent events. */
export interface OpenedResponse {
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  decoder: ChunkDecoder;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
/** Only a finish reason means the end: an aborted or cut connection can also end a body quietly. */
const CUT_SHORT = "The model stream ended before the reply was finished";

/**
 * The idle timeout of a provider's responses, watched for all of them by one sweep: a timer for each
 * response, re-armed by every read, was held with its callback as long as the reply streamed. A stall is
 * seen up to two check intervals late, never early.
 */
export class Stalls {
  readonly sweep: Sweep<ResponseEvents>;

  constructor(readonly idleTimeoutMs: number) {
    this.sweep = Sweep.forDeadlines(idleTimeoutMs, (events) => events.checkStall());
  }
}

/**
 * The events of a streamed chat completion, read from its body. An async generator reading the body with
 * `for await` did the same, but kept for as long as a reply streams a suspended frame of a hundred
 * registers and Node's async iterator over the body with its listeners and promises (heap snapshots of
 * 1,000 open streams), and took several promise steps per chunk. Here the body is read when it says it is
 * readable and the events it brought before have all been taken, so a slow reader holds back the socket
 * as before.
 *
 * What the generator guaranteed holds: events come in order, those before a failure first; once the
 * events of one read have all been taken, `onReadTaken` is called before anything else happens; leaving
 * early (`return`) closes the body; failures are {@link ModelError}s, or the signal's reason once it has
 * aborted. Nothing is requested before the first `next()`.
 */
export class ResponseEvents implements AsyncIterableIterator<ModelEvent> {
  private readonly queue: ModelEvent[] = [];
  private head = 0;
  private body: Readable | null = null;
  private decoder: ChunkDecoder | null = null;
  private started = false;
  /** No more events will come: the body ended, failed, or was closed. */
  private ended = false;
  /** Why the stream failed, thrown once the events before it have been taken. */
  private failure: unknown;
  private finished = false;
  private stalled = false;
  private closed = false;
  /** Events of a read were queued: once all are taken, `onReadTaken` is due. */
  private readPending = false;
  /** When the model last sent chunks (or the body began), by the time of the stall sweep. */
  private lastChunkAt = 0;
  /** The read waiting for an event, if any; its rejection beside it. */
  private waiting: ((result: IteratorResult<ModelEvent>) => void) | null = null;
  private failWaiting: (error: unknown) => void = () => {};

  constructor(
    private readonly request: ModelRequest,
    private readonly open: () => Promise<OpenedResponse>,
    private readonly stalls: Stalls,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ModelEvent>> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.closed) return Promise.resolve(DONE);
    this.readTaken();
    if (!this.ended) this.read();
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.ended) return this.finish();
    if (!this.started) this.start();
    return new Promise(this.wait);
  }

  // One promise per wait, its executor made once per stream: this sits on every chunk's path.
  private readonly wait = (
    resolve: (result: IteratorResult<ModelEvent>) => void,
    reject: (error: unknown) => void,
  ): void => {
    this.waiting = resolve;
    this.failWaiting = reject;
  };

  async return(): Promise<IteratorResult<ModelEvent>> {
    this.close();
    return DONE;
  }

  private start(): void {
    this.started = true;
    this.open().then(
      ({ body, decoder }) => this.attach(body, decoder),
      (error: unknown) => this.fail(error),
    );
  }

  private attach(source: OpenedResponse["body"], decoder: ChunkDecoder): void {
    // Bodies of the model's fetch are Node streams; any other is read through one. A response without
    // content (204) has none: a stream that ended before it began.
    const body = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    if (this.closed) {
      body.destroy();
      return;
    }
    this.body = body;
    this.decoder = decoder;
    this.stalls.sweep.add(this);
    this.lastChunkAt = this.stalls.sweep.now;
    body.on("readable", this.onReadable);
    body.on("end", this.onEnd);
    body.on("error", this.fail);
    body.on("close", this.onClose);
  }

  // Bytes are read only once every event before them is taken: meanwhile they wait in the stream, which
  // stops reading the socket once it holds its high-water mark.
  private readonly onReadable = (): void => {
    if (this.head < this.queue.length) return;
    this.read();
    this.handOn();
  };

  /**
   * Decodes all the bytes the body holds, as one read: in paused mode `read()` returns everything the
   * socket delivered since the last read, so a reader that is behind takes the chunks of several socket
   * reads together, and passes them on merged. Taken one socket read at a time, as `data` events come,
   * they would reach the reader's stream as more events, each executed and written on its own.
   */
  private read(): void {
    const bytes = this.body?.read() as Uint8Array | null | undefined;
    if (bytes === null || bytes === undefined) return;
    const decoder = this.decoder as ChunkDecoder;
    const chunks = decoder.decode(bytes);
    if (chunks.length > 0) {
      this.lastChunkAt = this.stalls.sweep.now;
      for (const chunk of chunks)
        for (const event of fromOpenAIChunk(chunk)) {
          if (event.type === "finish") this.finished = true;
          this.queue.push(event);
        }
      this.readPending = true;
    }
    try {
      decoder.throwIfFailed();
    } catch (error) {
      // The chunks before the failure still count: they are taken first.
      this.fail(error);
      this.body?.destroy();
    }
  }

  private readonly onEnd = (): void => {
    if (!this.finished) this.fail(new ModelError(CUT_SHORT));
    else this.settle();
  };

  private readonly onClose = (): void => {
    if (!this.ended) this.fail(new ModelError(CUT_SHORT));
  };

  private readonly fail = (error: unknown): void => {
    if (this.ended) return;
    this.failure = error;
    this.settle();
  };

  private settle(): void {
    this.ended = true;
    this.stalls.sweep.delete(this);
    this.handOn();
  }

  /** Gives a waiting reader the next event, or, once the events are all taken, how the stream ended. */
  private handOn(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    if (this.head < this.queue.length) {
      this.waiting = null;
      waiting(this.take());
      return;
    }
    // The reader waits with every event read so far taken (a read may bring chunks without events).
    this.readTaken();
    if (this.ended) {
      this.waiting = null;
      this.finish().then(waiting, this.failWaiting);
    }
  }

  /** Says, once, that the events of the last read have all been taken. */
  private readTaken(): void {
    if (!this.readPending) return;
    this.readPending = false;
    this.request.onReadTaken?.();
  }

  private take(): IteratorYieldResult<ModelEvent> {
    const event = this.queue[this.head++] as ModelEvent;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return { done: false, value: event };
  }

  private finish(): Promise<IteratorResult<ModelEvent>> {
    if (this.failure === undefined) return Promise.resolve(DONE);
    const { signal } = this.request;
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.stalled)
      return Promise.reject(
        new ModelError(`The model sent nothing for ${this.stalls.idleTimeoutMs} ms; the reply was cut off`),
      );
    return Promise.reject(toModelError(this.failure));
  }

  /**
   * Cuts the body once the model has sent nothing for the idle timeout (the provider's sweep asks). It cuts
   * the body itself rather than aborting a controller of the stream's own: Node gives every abort signal a
   * hidden class and two maps of its own, held as long as the reply streams.
   */
  checkStall(): void {
    const { sweep, idleTimeoutMs } = this.stalls;
    if (this.ended || sweep.since(this.lastChunkAt) < idleTimeoutMs) return;
    this.stalled = true;
    this.body?.destroy(new Error("The model stalled"));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.stalls.sweep.delete(this);
    this.queue.length = 0;
    this.head = 0;
    this.body?.destroy();
  }
}

function toModelError(error: unknown): ModelError {
  if (error instanceof OpenAI.APIConnectionTimeoutError)
    return new ModelError("The model did not answer in time");
  if (error instanceof OpenAI.APIConnectionError) return new ModelError("Could not reach the model");
  if (error instanceof OpenAI.APIError) {
    const status = error.status ? ` (HTTP ${error.status})` : "";
    return new ModelError(`The model failed${status}: ${error.error?.message ?? error.message}`);
  }
  if (error instanceof ModelError) return error;
  return new ModelError(`The model stream failed: ${error instanceof Error ? error.message : String(error)}`);
}
