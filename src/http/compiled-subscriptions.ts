import { buildExecutionContext } from "@graphql-tools/executor";
import { createSourceEventStream, type DocumentNode, type ExecutionArgs } from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";

/**
 * Subscription events executed by a compiled plan (graphql-jit). A reply's stream executes its selection
 * once per event, thousands of times, and the executor walking the document again for each was the largest
 * share of the server's CPU per chunk after socket writes and garbage collection (saturation profile). The
 * stream itself is still created by graphql-js's `createSourceEventStream`, so refusals (limits, ownership,
 * bad input) answer exactly as before; only the per-event execution changes. The plan is compiled once per
 * parsed document (yoga caches those); a document graphql-jit cannot compile runs as before.
 */
export function useCompiledSubscriptions(): Plugin {
  const plans = new WeakMap<DocumentNode, CompiledQuery | null>();
  const planFor = (args: ExecutionArgs) => {
    let plan = plans.get(args.document);
    if (plan === undefined) {
      const compiled = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      plan = isCompiledQuery(compiled) ? compiled : null;
      plans.set(args.document, plan);
    }
    return plan;
  };
  return {
    onSubscribe({ setSubscribeFn, subscribeFn }) {
      setSubscribeFn(async (args) => {
        const plan = planFor(args);
        // Invalid operations and variables: the executor's own answer (400, BAD_USER_INPUT).
        if (!plan || Array.isArray(buildExecutionContext(args))) return subscribeFn(args);
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source;
        return mapEvents(source, (payload: unknown) =>
          plan.query(payload, args.contextValue, args.variableValues),
        );
      });
    },
  };
}

/**
 * A stream's events mapped by `map`, with one promise per event: graphql-tools' `mapAsyncIterator` (made
 * for maps that may or may not be async) allocates several closures and promise wrappers per event, a few
 * percent of all a streaming reply allocates. As there, a map that fails closes the source.
 */
function mapEvents<T, R>(
  source: AsyncIterable<T>,
  map: (event: T) => R | Promise<R>,
): AsyncIterableIterator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const close = async (error: unknown): Promise<never> => {
    await iterator.return?.();
    throw error;
  };
  const mapResult = (result: IteratorResult<T>): IteratorResult<R> | Promise<IteratorResult<R>> => {
    if (result.done) return { value: undefined, done: true };
    try {
      const value = map(result.value);
      return value instanceof Promise
        ? value.then((v) => ({ value: v, done: false }), close)
        : { value, done: false };
    } catch (error) {
      return close(error);
    }
  };
  const mapped: AsyncIterableIterator<R> = {
    [Symbol.asyncIterator]: () => mapped,
    next: () => iterator.next().then(mapResult),
    return: async () => {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    throw: (error: unknown) =>
      iterator.throw ? iterator.throw(error).then(mapResult) : Promise.reject(error),
  };
  return mapped;
}
