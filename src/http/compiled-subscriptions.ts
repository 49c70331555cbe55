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

/**
 * What the compiled path does in the pipeline's place: with the errors a subscription answers with, and
 * when its stream ends.
 */
export interface SubscriptionReporting {
  /** The masking yoga is given (`maskedErrors`). */
  mask: (error: unknown) => Error;
  /** Counts errors for the metrics (`graphql_envelop_error_result`); absent when metrics are off. */
  count?: (errors: readonly GraphQLError[]) => void;
  /**
   * Times a subscription, from its start to the end of its stream, for the metrics; absent when metrics are
   * off. The Prometheus plugin's own timing would wrap every stream in one more iterator whose closures
   * hold its hooks' state (2.7 KB of live heap of every open stream, by the memory bench), so it is told
   * not to time subscriptions.
   */
  ended?: (seconds: number) => void;
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
export function useCompiledSubscriptions(reporting: SubscriptionReporting): Plugin {
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
    reporting.count?.(result.errors);
    return { ...result, errors: result.errors.map((error) => reporting.mask(error) as GraphQLError) };
  };
  return {
    async onSubscribe({ args, subscribeFn, setResultAndStopExecution }) {
      const started = performance.now();
      const ended = reporting.ended && (() => reporting.ended?.((performance.now() - started) / 1000));
      forgetQueryText(args.contextValue);
      forgetRawHeaders(args.contextValue);
      const plan = planFor(args);
      if (!plan || Array.isArray(buildExecutionContext(args))) {
        // Not compiled, or variables that do not fit: the executor's own answer (400, BAD_USER_INPUT).
        const result = (await subscribeFn(args)) as ExecutionResult | AsyncIterable<ExecutionResult>;
        setResultAndStopExecution(
          Symbol.asyncIterator in result
            ? new MappedEvents(result, checked, ended)
            : answeredAtOnce(checked(result), ended),
        );
        return;
      }
      const source = await createSourceEventStream(args);
      setResultAndStopExecution(
        Symbol.asyncIterator in source
          ? new MappedEvents(
              source,
              (payload: unknown) => {
                const result = plan.query(payload, eventContext(args.contextValue), args.variableValues);
                return result instanceof Promise ? result.then(checked) : checked(result);
              },
              ended,
            )
          : answeredAtOnce(checked(source), ended),
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
 * The context one event is executed with: a copy of the request's, under an identity of the event's own.
 * Caches kept per context (plugin-prisma's loaders, and its selection mappings, made by the first event
 * that carries a message) then go with the event instead of staying for the stream's life. Every event is
 * an execution of its own: a mapping one event recorded says nothing of how the next event's rows were
 * loaded. A copy, not an object inheriting from the request's context: V8 gives every object used as a
 * prototype a hidden class of its own, 0.5 KB of every open stream (heap snapshots of 1,000), where copies
 * share one; a copy of the context's twenty fields takes about 30 ns.
 */
function eventContext<T extends object>(context: T): T {
  return { ...context };
}

/** A subscription that answered at once, without a stream (refused, or failed to start), has ended. */
function answeredAtOnce(result: ExecutionResult, ended: (() => void) | undefined): ExecutionResult {
  ended?.();
  return result;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * A stream's events mapped by `map`, with one promise per event: graphql-tools' `mapAsyncIterator` (made
 * for maps that may or may not be async) allocates several closures and promise wrappers per event, a few
 * percent of all a streaming reply allocates. As there, a map that fails closes the source. `ended` is told
 * once, when the stream ends or is closed. A class, not an object literal of functions: every open stream
 * would hold its own copy of each method, and of the name V8 makes for a method with a symbol for key.
 */
class MappedEvents<T, R> implements AsyncIterableIterator<R> {
  private readonly iterator: AsyncIterator<T>;

  constructor(
    source: AsyncIterable<T>,
    private readonly map: (event: T) => R | Promise<R>,
    private ended: (() => void) | undefined,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    return this.iterator.next().then(this.mapResult);
  }

  async return(): Promise<IteratorResult<R>> {
    this.end();
    await this.iterator.return?.();
    return DONE;
  }

  throw(error: unknown): Promise<IteratorResult<R>> {
    return this.iterator.throw ? this.iterator.throw(error).then(this.mapResult) : Promise.reject(error);
  }

  private readonly mapResult = (
    result: IteratorResult<T>,
  ): IteratorResult<R> | Promise<IteratorResult<R>> => {
    if (result.done) {
      this.end();
      return DONE;
    }
    try {
      const value = this.map(result.value);
      return value instanceof Promise
        ? value.then((v) => ({ value: v, done: false }), this.close)
        : { value, done: false };
    } catch (error) {
      return this.close(error);
    }
  };

  private readonly close = async (error: unknown): Promise<never> => {
    this.end();
    await this.iterator.return?.();
    throw error;
  };

  private end(): void {
    const ended = this.ended;
    this.ended = undefined;
    ended?.();
  }
}
