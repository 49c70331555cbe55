import type { IncomingMessage } from "node:http";
import { buildExecutionContext } from "@graphql-tools/executor";
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";

/** What the compiled path does with the errors a subscription answers with, in the pipeline's place. */
export interface SubscriptionErrors {
  /** The masking yoga is given (`maskedErrors`). */
  mask: (error: unknown) => Error;
  /** Counts them for the metrics (`graphql_envelop_error_result`); absent when metrics are off. */
  count?: (errors: readonly GraphQLError[]) => void;
}

/**
 * Subscriptions answered without envelop's per-event hooks, their events executed by a compiled plan
 * (graphql-jit). A reply's stream executes its selection once per event, thousands of times: the executor
 * walking the document again for each was the largest share of the server's CPU per chunk after socket
 * writes and garbage collection. Envelop's result hooks (error masking, the metrics' error count) wrapped
 * every stream in one more mapped iterator, several promises and closures per event: a quarter of all a
 * streaming reply allocated (sampling heap profile). So this plugin, placed after the metrics plugin, answers
 * every subscription itself and stops the hooks after it, masking and counting errors as they would; the
 * hooks before it (limits, tracing, the metrics' timings) still run. The stream is created by graphql-js's
 * `createSourceEventStream`, so refusals (limits, ownership, bad input) answer exactly as before; a
 * document graphql-jit cannot compile, or variables that do not fit it, go to the executor.
 */
export function useCompiledSubscriptions(errors: SubscriptionErrors): Plugin {
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
  const checked = (result: ExecutionResult): ExecutionResult => {
    if (!result.errors?.length) return result;
    errors.count?.(result.errors);
    return { ...result, errors: result.errors.map((error) => errors.mask(error) as GraphQLError) };
  };
  return {
    async onSubscribe({ args, subscribeFn, setResultAndStopExecution }) {
      forgetQueryText(args.contextValue);
      forgetRawHeaders(args.contextValue);
      const plan = planFor(args);
      if (!plan || Array.isArray(buildExecutionContext(args))) {
        // Not compiled, or variables that do not fit: the executor's own answer (400, BAD_USER_INPUT).
        const result = (await subscribeFn(args)) as ExecutionResult | AsyncIterable<ExecutionResult>;
        setResultAndStopExecution(
          Symbol.asyncIterator in result ? mapEvents(result, checked) : checked(result),
        );
        return;
      }
      const source = await createSourceEventStream(args);
      setResultAndStopExecution(
        Symbol.asyncIterator in source
          ? mapEvents(source, (payload: unknown) => {
              const result = plan.query(payload, eventContext(args.contextValue), args.variableValues);
              return result instanceof Promise ? result.then(checked) : checked(result);
            })
          : checked(source),
      );
    },
  };
}

/**
 * A subscription's context lives as long as its stream, and with it the request's parameters. By now the
 * document is parsed (and cached by its text): the text itself, a client's whole document and often
 * kilobytes, need not be kept for every open stream. The other parameters stay.
 */
function forgetQueryText(context: unknown): void {
  const holder = context as { params?: { query?: unknown } };
  if (typeof holder.params?.query === "string") holder.params = { ...holder.params, query: undefined };
}

/**
 * Node keeps a request's headers twice: as `headers`, and as the list they came in (`rawHeaders`, a name
 * and a value per header, the names as the client wrote them), both as long as the request, which for a
 * subscription is the stream's life. By now `headers` is built (yoga read it to make its request); the list
 * is emptied. A browser sends fifteen headers or more, most names capitalised: strings of their own.
 */
function forgetRawHeaders(context: unknown): void {
  const request = (context as { req?: IncomingMessage }).req;
  if (!Array.isArray(request?.rawHeaders)) return;
  // Built from the list when first read: read before the list is emptied.
  if (typeof request.headers !== "object") return;
  request.rawHeaders.length = 0;
}

/**
 * The context one event is executed with: the request's, inherited, under an identity of the event's own.
 * Caches kept per context (plugin-prisma's loaders, and its selection mappings, made by the first event
 * that carries a message) then go with the event instead of staying for the stream's life. Every event is
 * an execution of its own: a mapping one event recorded says nothing of how the next event's rows were
 * loaded.
 */
function eventContext<T extends object>(context: T): T {
  return Object.create(context) as T;
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
