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
const pings = new Sweep<Readable>(PING_MS, (body) => body.push(COMMENT));

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
): Readable {
  const message = (result: ExecutionResult) => print({ event: "next", data: format(result) });
  if (!(Symbol.asyncIterator in results))
    return Readable.from([COMMENT, message(results), COMPLETE], { objectMode: false });
  const iterator = results[Symbol.asyncIterator]();
  let pulling = false;
  let ended = false;
  const finish = () => {
    ended = true;
    pings.delete(body);
  };
  // Each result is taken in a promise's callback, not in an async loop: a loop waiting for the next event
  // keeps a suspended frame, its promise and their context for the stream's life (heap snapshots of 1,000
  // open streams). `pulling` stays set while a result is pushed, which may ask for the next one at once.
  const onStep = (step: IteratorResult<ExecutionResult>) => {
    if (ended) {
      pulling = false;
      return;
    }
    try {
      if (step.done) {
        pulling = false;
        finish();
        body.push(COMPLETE);
        body.push(null);
      } else if (body.push(message(step.value))) iterator.next().then(onStep, onError);
      // Full: the next read() asks again.
      else pulling = false;
    } catch (error) {
      onError(error);
    }
  };
  const onError = (error: unknown) => {
    pulling = false;
    body.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const pull = () => {
    pulling = true;
    iterator.next().then(onStep, onError);
  };
  const body = new Readable({
    // Messages stay strings on their way to the socket, which writes them as they are: without an
    // encoding, every message pushed would first be copied into a Buffer of its own.
    encoding: "utf8",
    read() {
      if (!pulling && !ended) pull();
    },
    destroy(error, callback) {
      if (!ended) {
        finish();
        iterator.return?.()?.catch(() => {});
      }
      callback(error);
    },
  });
  body.push(COMMENT);
  pings.add(body);
  return body;
}
