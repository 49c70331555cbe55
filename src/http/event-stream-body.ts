import { Readable } from "node:stream";
import type { ExecutionResult } from "graphql";
import { print } from "graphql-sse";
import { Sweep } from "../core/sweep.js";

/** An empty comment: sent first (some browsers show nothing until a body byte arrives) and as a keep-alive. */
const COMMENT = ":\n\n";
/** graphql-sse's keep-alive interval. */
const PING_MS = 12_000;
const COMPLETE = print({ event: "complete", data: null });
/** Every open body gets its keep-alive from one timer (a body's first comes within 12 seconds). */
const pings = new Sweep<EventStreamBody>(PING_MS, (body) => body.send(COMMENT));

/**
 * An operation's results as the body of a graphql-sse "distinct connections" response, written as
 * graphql-sse's handler writes it (with its own `print`): a comment, a `next` event per result, `complete`,
 * then the end, with a comment every 12 seconds meanwhile. graphql-sse's handler reads the results in a loop
 * of its own and queues each message for an async generator that a `Readable` then pulls: four promises and
 * a queue per event, a third of what a streaming reply allocated (sampling heap profile). Here each result
 * is read when the socket can take more, so a client that reads slowly leaves events in the reply's feed,
 * which merges them, rather than in a queue here. A failing stream cuts the response, as graphql-sse's
 * does; a response that ends early (the client left) closes the results.
 */
export function eventStreamBody(
  results: ExecutionResult | AsyncIterable<ExecutionResult>,
  /** Each result as it is sent. */
  format: (result: ExecutionResult) => ExecutionResult,
  /** The Node response the server adapter will pipe the body into, when there is one (see `pipe`). */
  response?: NodeJS.EventEmitter,
): Readable {
  if (!(Symbol.asyncIterator in results))
    return Readable.from([COMMENT, nextMessage(results, format), COMPLETE], { objectMode: false });
  return new EventStreamBody(results[Symbol.asyncIterator](), format, response);
}

function nextMessage(result: ExecutionResult, format: (result: ExecutionResult) => ExecutionResult) {
  return print({ event: "next", data: format(result) });
}

/** What the body writes to directly: a Writable, or Node's ServerResponse (a stream, but not a Writable). */
type Destination = NodeJS.WritableStream & { destroy(): unknown };

function isDestination(stream: NodeJS.WritableStream): stream is Destination {
  return "destroy" in stream && typeof stream.destroy === "function";
}

/**
 * The body of {@link eventStreamBody} for a stream of results. Piped into a response (as the server adapter
 * sends a Node body), it writes to the response itself: Node's `pipe` keeps listeners and closures on both
 * streams for as long as they live (2.1 KB of live heap of every open stream, by the memory bench), and
 * leaves the response open when the body fails. Read any other way, it is an ordinary Readable.
 */
class EventStreamBody extends Readable {
  /** The response written to directly, once piped into one. */
  private destination: Destination | undefined;
  /** Set while a result is asked for or sent (which may ask for the next one at once). */
  private pulling = false;
  private ended = false;
  /** The response's `close` listeners when the body was made (see `pipe`). */
  private readonly closeListeners: readonly unknown[];

  constructor(
    private readonly results: AsyncIterator<ExecutionResult>,
    private readonly format: (result: ExecutionResult) => ExecutionResult,
    private readonly response: NodeJS.EventEmitter | undefined,
  ) {
    // Messages stay strings on their way to the socket, which writes them as they are: without an
    // encoding, every message pushed would first be copied into a Buffer of its own.
    super({ encoding: "utf8" });
    this.closeListeners = response?.listeners("close") ?? [];
    this.push(COMMENT);
    pings.add(this);
  }

  /** Sends `text` on, to the response or into the stream's buffer: whether more may follow now. */
  send(text: string): boolean {
    return this.destination ? this.destination.write(text) : this.push(text);
  }

  override _read(): void {
    this.pullIfIdle();
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (
      this.destination !== undefined ||
      this.readableFlowing !== null ||
      options?.end === false ||
      !isDestination(destination)
    )
      return super.pipe(destination, options);
    this.destination = destination;
    // A response closed early (the client left) destroys the body, which closes the results. The server
    // adapter sees to that too, with a listener it adds just before piping, whose closure holds the whole
    // fetch `Response` (its headers and their map: 0.9 KB of every open stream, by heap snapshots) for as
    // long as the stream lasts. That listener, the only one added to the response since this body was made,
    // is replaced by this body's own.
    if (destination === this.response)
      for (const listener of destination.listeners("close"))
        if (!this.closeListeners.includes(listener))
          destination.removeListener("close", listener as (...args: unknown[]) => void);
    destination.on("close", this.onClose);
    // What is buffered already (the first comment, and maybe results) goes first.
    for (let chunk: string | null = this.read(); chunk !== null; chunk = this.read())
      destination.write(chunk);
    this.pullIfIdle();
    return destination;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) {
      this.finish();
      this.results.return?.()?.catch(() => {});
    }
    callback(error);
  }

  // Each result is taken in a promise's callback, not in an async loop: a loop waiting for the next event
  // keeps a suspended frame, its promise and their context for the stream's life (heap snapshots of 1,000
  // open streams).
  private pull(): void {
    this.pulling = true;
    this.results.next().then(this.onStep, this.onError);
  }

  private readonly onStep = (step: IteratorResult<ExecutionResult>) => {
    if (this.ended) {
      this.pulling = false;
      return;
    }
    try {
      if (step.done) {
        this.pulling = false;
        this.finish();
        this.send(COMPLETE);
        if (this.destination) this.destination.end();
        else this.push(null);
      } else if (this.send(nextMessage(step.value, this.format)))
        this.results.next().then(this.onStep, this.onError);
      else {
        // Full: the response's drain (or, unpiped, the next read()) asks again.
        this.pulling = false;
        this.destination?.once("drain", this.pullIfIdle);
      }
    } catch (error) {
      this.onError(error);
    }
  };

  private readonly onClose = () => {
    this.destroy();
  };

  /** Asks for the next result, unless one is already asked for or the stream has ended. */
  private readonly pullIfIdle = () => {
    if (!this.pulling && !this.ended) this.pull();
  };

  private readonly onError = (error: unknown) => {
    this.pulling = false;
    if (this.destination) {
      // Cut, as graphql-sse does: the client sees the stream end without `complete`.
      this.destination.destroy();
      this.destroy();
    } else this.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  private finish(): void {
    this.ended = true;
    pings.delete(this);
  }
}
