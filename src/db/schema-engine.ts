import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { messages, PGlite } from "@electric-sql/pglite";
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
} from "@prisma/driver-adapter-utils";
import type {
  ApplyMigrationsInput,
  ApplyMigrationsOutput,
  DiffParams,
  DiffResult,
} from "@prisma/schema-engine-wasm/schema_engine_bg";

// Prisma's schema engine compiled to WASM, so migrations need no native binary. The package's main entry
// imports the .wasm file as an ES module, which Node 20 refuses; we instantiate it by hand instead, with
// the generated glue module as its only import (see /work/shared/ENVIRONMENT.md).
type Bindings = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

/** Receives the engine's error-level log messages; everything below error is dropped. */
export type EngineErrorLog = (message: string) => void;

/** A schema engine bound to one database; call {@link SchemaEngine.dispose} when done. */
export interface SchemaEngine {
  /** The SQL (with `script: true`) that turns `params.from` into `params.to`; `exitCode` 2 when they differ. */
  diff(params: DiffParams): Promise<DiffResult>;
  /** `prisma migrate deploy`: applies the unapplied migrations and records them in `_prisma_migrations`. */
  applyMigrations(input: ApplyMigrationsInput): Promise<ApplyMigrationsOutput>;
  /** Frees the engine and closes the connection it opened (which also releases its migration lock). */
  dispose(): Promise<void>;
}

const require = createRequire(import.meta.url);
let bindings: Promise<Bindings> | undefined;
/** The glue module and the memory of the instance it calls into, while one is set, with what it handed out. */
let loaded: { glue: Bindings; memory: WebAssembly.Memory; held: Held } | undefined;
/** Engines being started or not yet disposed: the instance is released when none is left. */
let users = 0;
let lastPanic: string | undefined;
let panicRegistryInstalled = false;

/**
 * Starts a schema engine on a database. The engine opens its own connection through the factory (for
 * PostgreSQL a separate pool) and keeps it until {@link SchemaEngine.dispose}.
 */
export async function createSchemaEngine(
  factory: SqlMigrationAwareDriverAdapterFactory,
  onError: EngineErrorLog = (message) => console.error(`schema engine: ${message}`),
): Promise<SchemaEngine> {
  users++;
  let engine: Awaited<ReturnType<Bindings["SchemaEngine"]["new"]>>;
  const tracked = trackConnections(factory);
  try {
    const { SchemaEngine: WasmSchemaEngine } = await loadBindings();
    engine = await call(() =>
      WasmSchemaEngine.new(
        { datamodels: undefined },
        logFilter(onError),
        bindMigrationAwareSqlAdapterFactory(tracked.factory),
      ),
    );
  } catch (error) {
    release();
    await tracked.close();
    throw error;
  }
  let disposed = false;
  return {
    diff: (params) => call(() => engine.diff(params)),
    applyMigrations: (input) => call(() => engine.applyMigrations(input)),
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      engine.free();
      release();
      await tracked.close();
    },
  };
}

/**
 * Drops the instance once no engine uses it: a server runs migrations once, at start, and the instance
 * (its memory, its compiled code) would otherwise stay for the life of the process, about 13 MB. The next
 * engine instantiates the module again.
 */
function release(): void {
  users--;
  if (users > 0 || loaded === undefined) return;
  // A timer of the engine firing later would call into an instance that is gone.
  for (const timer of loaded.held.timers) clearTimeout(timer);
  // The glue registers each closure it makes for the engine with a FinalizationRegistry of its own, whose
  // entry holds the instance (through the closure's destructor) while the instance's table holds the
  // closure: a cycle through a registry that lives as long as the process. Dropping a closure's last
  // reference (what the engine does when done with one) unregisters it; those the engine still held are
  // dropped here, before the exports are unset.
  for (const ref of loaded.held.closures) {
    try {
      ref.deref()?._wbg_cb_unref();
    } catch {
      // The engine's part of the closure is freed with the instance anyway.
    }
  }
  // The glue module keeps views of the memory in variables of its own, re-made when found detached:
  // growing the memory by nothing detaches the buffer they view, and unsetting the exports leaves the glue
  // holding nothing of the instance.
  loaded.memory.grow(0);
  loaded.glue.__wbg_set_wasm(undefined);
  loaded = undefined;
  bindings = undefined;
}

/** Loads and instantiates the WASM module, once for all the engines that overlap. */
function loadBindings(): Promise<Bindings> {
  bindings ??= (async () => {
    const glue: Bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const wasmPath = path.join(
      path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
      "schema_engine_bg.wasm",
    );
    const held: Held = { timers: new Set(), closures: [] };
    const imports = { "./schema_engine_bg.js": trackedImports(glue, held) };
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), imports);
    glue.__wbg_set_wasm(instance.exports);
    loaded = { glue, memory: instance.exports.memory as WebAssembly.Memory, held };
    (instance.exports.__wbindgen_start as () => void)();
    installPanicRegistry();
    return glue;
  })().catch((error: unknown) => {
    bindings = undefined;
    throw error;
  });
  return bindings;
}

/** What the glue handed the engine that outlives a call: released with the instance. */
interface Held {
  /** Timers armed and not yet fired. */
  timers: Set<NodeJS.Timeout>;
  /** The JS closures made for the engine (`_wbg_cb_unref` drops a reference to one). */
  closures: WeakRef<{ _wbg_cb_unref(): void }>[];
}

/**
 * The glue's imports, watched. The engine arms a timer around waits such as the 10 s advisory-lock timeout
 * and never clears it (the glue imports `setTimeout` but no `clearTimeout`), which would hold a finished
 * CLI open for 10 s: timers are unref'd (they still fire while the process is busy, but no longer keep it
 * alive) and kept in `held` until they fire. The closures the glue's casts make are kept there too.
 */
function trackedImports(glue: Bindings, held: Held): WebAssembly.ModuleImports {
  const imports: WebAssembly.ModuleImports = { ...glue };
  for (const name of Object.keys(glue)) {
    if (name.startsWith("__wbg_setTimeout_")) {
      const setTimer = imports[name] as (callback: () => void, ms: number) => NodeJS.Timeout;
      imports[name] = (callback: () => void, ms: number) => {
        const timer = setTimer(() => {
          held.timers.delete(timer);
          callback();
        }, ms);
        timer.unref();
        held.timers.add(timer);
        return timer;
      };
    } else if (name.startsWith("__wbindgen_cast_")) {
      const cast = imports[name] as (...args: unknown[]) => unknown;
      imports[name] = (...args: unknown[]) => {
        const value = cast(...args);
        if (typeof value === "function" && "_wbg_cb_unref" in value)
          held.closures.push(new WeakRef(value as { _wbg_cb_unref(): void }));
        return value;
      };
    }
  }
  return imports;
}

/**
 * Runs an engine call. A Rust panic surfaces as a bare `RuntimeError: unreachable`; the panic hook has
 * left its message in the registry, so the error carries it. The instance is unusable after a panic,
 * so the next engine gets a fresh one.
 */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    bindings = undefined;
    const panic = lastPanic;
    lastPanic = undefined;
    throw new Error(`Prisma schema engine panicked: ${panic ?? error.message}`, { cause: error });
  }
}

/** The engine's panic hook writes to `globalThis.PRISMA_WASM_PANIC_REGISTRY`; keep any one already there. */
function installPanicRegistry(): void {
  if (panicRegistryInstalled) return;
  panicRegistryInstalled = true;
  const holder = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } };
  const previous = holder.PRISMA_WASM_PANIC_REGISTRY;
  holder.PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message) {
      lastPanic = message;
      previous?.set_message(message);
    },
  };
}

/** The engine logs `tracing` events as JSON lines; only errors are worth anyone's attention. */
function logFilter(onError: EngineErrorLog): (line: string) => void {
  return (line) => {
    let event: { level?: string; fields?: { message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    if (event.level === "ERROR") onError(event.fields?.message ?? line.trim());
  };
}

/**
 * The engine never disposes the connection it opens (the WASM build has no dispose), and a PostgreSQL
 * pool left open keeps both the process and the engine's session-level advisory lock alive. Record what
 * `connect` hands out so {@link SchemaEngine.dispose} can close it.
 */
function trackConnections(factory: SqlMigrationAwareDriverAdapterFactory) {
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      opened.push(adapter);
      return withPgCharColumns(withAwaitedPgliteScripts(adapter));
    },
    // Only diffs from a migrations directory use a shadow database; src/db/migrations.ts never asks for one.
    connectToShadowDb: () => factory.connectToShadowDb(),
  };
  return {
    factory: tracked,
    close: async () => {
      await Promise.all(opened.splice(0).map((adapter) => adapter.dispose()));
    },
  };
}

/**
 * pglite-prisma-adapter 0.7.2 starts `executeScript` without awaiting it: a failing migration would be
 * recorded as applied and its error escape as an unhandled rejection. Run scripts on the PGlite the
 * adapter wraps (its internal `client`) and report failures the way the adapter reports failed queries.
 * test/integration/migrations.test.ts fails if either package changes under this.
 */
function withAwaitedPgliteScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const client = (adapter as { client?: unknown }).client;
  if (!(client instanceof PGlite)) return adapter;
  const fixed: SqlDriverAdapter = Object.create(adapter);
  fixed.executeScript = async (script) => {
    try {
      await client.exec(script);
    } catch (error) {
      if (!(error instanceof messages.DatabaseError)) throw error;
      throw new DriverAdapterError({
        kind: "postgres",
        code: error.code ?? "",
        severity: error.severity ?? "ERROR",
        message: error.message,
        detail: error.detail,
        column: error.column,
        hint: error.hint,
      });
    }
  };
  return fixed;
}

type PgResult = { fields: { dataTypeID: number }[]; rows: unknown[][] };
const pgCharOid = 18;
const pgTextOid = 25;

/**
 * @prisma/adapter-pg 7.10 rejects result columns of PostgreSQL's one-byte `"char"` type, which the engine
 * reads from the catalog (`pg_constraint.contype`, `confdeltype`...) to describe a database: every diff
 * against a migrated PostgreSQL failed with "Column type 'char' could not be deserialized". Let the
 * adapter read such columns as text, then type them `Character`, as the PGlite adapter does. Hooks the
 * adapter's internal `performIO`; test/integration/migrations.test.ts fails if that changes.
 */
function withPgCharColumns(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const performIO = (adapter as { performIO?: (query: SqlQuery) => Promise<PgResult> }).performIO;
  if (adapter.adapterName !== "@prisma/adapter-pg" || performIO === undefined) return adapter;
  // The adapter's queryRaw returns the very `rows` array its performIO produced: key the fix-up on it.
  const charColumns = new WeakMap<unknown[][], number[]>();
  const fixed: SqlDriverAdapter & { performIO: typeof performIO } = Object.create(adapter);
  fixed.performIO = async function (this: SqlDriverAdapter, query) {
    const result = await performIO.call(this, query);
    const indexes = result.fields.flatMap((field, i) => (field.dataTypeID === pgCharOid ? [i] : []));
    for (const i of indexes) (result.fields[i] as { dataTypeID: number }).dataTypeID = pgTextOid;
    if (indexes.length > 0) charColumns.set(result.rows, indexes);
    return result;
  };
  fixed.queryRaw = async function (this: SqlDriverAdapter, query) {
    const result = await adapter.queryRaw.call(this, query);
    for (const i of charColumns.get(result.rows as unknown[][]) ?? [])
      result.columnTypes[i] = ColumnTypeEnum.Character;
    return result;
  };
  return fixed;
}
