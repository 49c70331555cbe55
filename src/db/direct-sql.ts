import {
  type ArgType,
  type ColumnType,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlDriverAdapterFactory,
  type SqlResultSet,
} from "@prisma/driver-adapter-utils";
import type { Prisma } from "./generated/prisma/client.js";

/** Observes every SQL statement sent (tests count them; debugging prints them). */
export type QueryListener = (event: { query: string; params: string; duration: number }) => void;

/**
 * Sends a reply's statements (its send, its flushes, its end) to the driver adapter itself, with the rows
 * read as `$queryRaw` reads them. They are already SQL: Prisma's client would serialise each one to its
 * query protocol, plan, interpret and trace it, and deserialise the rows again, about 65 µs of CPU a
 * statement (measured against the adapter's own call, PostgreSQL, `SELECT` of three columns), on every send
 * of a busy server. The adapter is the one Prisma's client uses: same pool, same prepared statements, same
 * errors (`DriverAdapterError`).
 */
export class DirectSql {
  private adapter: Promise<SqlDriverAdapter> | undefined;
  private readonly listeners: QueryListener[] = [];

  constructor(private readonly factory: SqlDriverAdapterFactory) {}

  /** Runs `statement` and returns its rows, each an object by column name. */
  async query<T>(statement: Prisma.Sql): Promise<T[]> {
    this.adapter ??= this.factory.connect().catch((error: unknown) => {
      this.adapter = undefined; // the next statement tries again
      throw error;
    });
    const adapter = await this.adapter;
    const args = statement.values;
    const started = this.listeners.length > 0 ? performance.now() : 0;
    const result = await adapter.queryRaw({ sql: statement.text, args, argTypes: args.map(argType) });
    if (this.listeners.length > 0) {
      const event = {
        query: statement.text,
        params: JSON.stringify(args),
        duration: Math.round(performance.now() - started),
      };
      for (const listener of this.listeners) listener(event);
    }
    return rowsOf<T>(result);
  }

  /** Tells `listener` of every statement sent from now on. */
  onQuery(listener: QueryListener): void {
    this.listeners.push(listener);
  }
}

// The statements cast every parameter (`${id}::uuid`, `${at}::timestamp(3)`): the adapter needs only to know
// which values are lists.
const SCALAR: ArgType = { scalarType: "unknown", arity: "scalar" };
const LIST: ArgType = { scalarType: "unknown", arity: "list" };

function argType(value: unknown): ArgType {
  return Array.isArray(value) ? LIST : SCALAR;
}

/** Rows as objects, the values of each column type as Prisma's `$queryRaw` returns them. */
function rowsOf<T>({ columnNames, columnTypes, rows }: SqlResultSet): T[] {
  const read = columnTypes.map(readerOf);
  const blank = blankRow(columnNames);
  return rows.map((row) => {
    // A copy of a row with every column: an object built a column at a time turns, past a dozen or so,
    // into a dictionary (a message has thirty), larger and slower to read, and kept by every open reply.
    const record: Record<string, unknown> = { ...blank };
    for (let i = 0; i < columnNames.length; i++) {
      const value = row[i];
      record[columnNames[i] as string] = value === null ? null : (read[i] as Reader)(value);
    }
    return record as T;
  });
}

/** Per list of columns, a row with each of them (null), made once by `JSON.parse`, which keeps it compact. */
const blankRows = new Map<string, Record<string, null>>();

function blankRow(columnNames: string[]): Record<string, null> {
  const key = columnNames.join(",");
  let blank = blankRows.get(key);
  if (!blank) {
    blank = JSON.parse(JSON.stringify(Object.fromEntries(columnNames.map((name) => [name, null])))) as Record<
      string,
      null
    >;
    blankRows.set(key, blank);
  }
  return blank;
}

type Reader = (value: unknown) => unknown;

const same: Reader = (value) => value;
const int32: Reader = (value) => Math.trunc(Number(value));
const int64: Reader = (value) => BigInt(typeof value === "number" ? Math.trunc(value) : (value as string));
const boolean: Reader = (value) =>
  typeof value === "boolean" ? value : value === "true" || value === "1" || value === 1;
const date: Reader = (value) => new Date(value as string);
const json: Reader = (value) => JSON.parse(value as string);

function readerOf(type: ColumnType): Reader {
  switch (type) {
    case ColumnTypeEnum.Int32:
      return int32;
    case ColumnTypeEnum.Int64:
      return int64;
    case ColumnTypeEnum.Boolean:
      return boolean;
    case ColumnTypeEnum.Date:
    case ColumnTypeEnum.DateTime:
      return date;
    case ColumnTypeEnum.Json:
      return json;
    case ColumnTypeEnum.Float:
    case ColumnTypeEnum.Double:
    case ColumnTypeEnum.Character:
    case ColumnTypeEnum.Text:
    case ColumnTypeEnum.Enum:
    case ColumnTypeEnum.Uuid:
      return same;
    default:
      // Decimals, bytes, times and arrays would need Prisma's own types: no statement sent here returns them.
      throw new Error(`A direct statement returned a column of type ${type}; send it through Prisma`);
  }
}
