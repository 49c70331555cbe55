import type { Plugin } from "graphql-yoga";

/** Requests that start their work in one turn of the event loop; the rest wait for the next turns. */
const REQUESTS_PER_TURN = 4;

/**
 * Spreads a burst of requests over turns of the event loop. Node runs every I/O callback that is ready in
 * one go, and a request's handling up to its first real wait (parsing, validation, auth, the send's checks)
 * is synchronous: two hundred sends arriving at once held the loop for hundreds of milliseconds while the
 * chunks of replies already streaming waited behind them. Here at most {@link REQUESTS_PER_TURN} requests
 * start per turn, and the model's chunks that arrive meanwhile are delivered between turns.
 */
export function useRequestTurns(): Plugin {
  let started = 0;
  let scheduled = false;
  const waiting: (() => void)[] = [];
  const nextTurn = () => {
    scheduled = false;
    started = 0;
    while (started < REQUESTS_PER_TURN && waiting.length > 0) {
      started++;
      waiting.shift()?.();
    }
    schedule();
  };
  const schedule = () => {
    if (scheduled || (started === 0 && waiting.length === 0)) return;
    scheduled = true;
    setImmediate(nextTurn);
  };
  return {
    onRequest() {
      if (started < REQUESTS_PER_TURN) {
        started++;
        schedule();
        return;
      }
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        schedule();
      });
    },
  };
}
