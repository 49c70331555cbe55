import { setFlagsFromString } from "node:v8";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, onQuery, queryRows } from "../../src/db/client.js";
import { isForeignKeyViolation, isUniqueViolation } from "../../src/db/errors.js";
import { Prisma } from "../../src/db/generated/prisma/client.js";
import { type OpenTestDatabase, openTestDatabase, testDatabaseKinds } from "../utils/databases.js";

// V8's own answer to whether an object keeps a compact layout (not a dictionary).
setFlagsFromString("--allow-natives-syntax");
const hasFastProperties = new Function("object", "return %HasFastProperties(object)") as (
  o: object,
) => boolean;

// A reply's statements skip Prisma's client (see direct-sql.ts): what they return and how they fail must be
// what `$queryRaw` gives for the same statement.
describe.each(testDatabaseKinds())("statements sent straight to the adapter on %s", (kind) => {
  let opened: OpenTestDatabase;
  let prisma: Db;

  beforeAll(async () => {
    opened = await openTestDatabase(kind, { migrate: false });
    prisma = opened.prisma;
    await prisma.$executeRawUnsafe(`CREATE TABLE direct_parent (id int PRIMARY KEY, key text UNIQUE)`);
    await prisma.$executeRawUnsafe(
      `CREATE TABLE direct_child (id int PRIMARY KEY, parent int REFERENCES direct_parent (id))`,
    );
  });
  afterAll(() => opened?.close());

  it("returns every column type the reply statements use as $queryRaw does, nulls included", async () => {
    const when = "2026-12-05T08:30:15.123Z";
    const statement = (n: number | null) => Prisma.sql`
      SELECT ${n}::int AS int, ${n}::bigint AS big, (${n}::int > 1) AS bool, ${when}::timestamp(3) AS at,
             ${when}::timestamptz(3) AS "atZone", ${`text ${n}`}::text AS text,
             ${n === null ? null : "0196c0de-0000-7000-8000-00000000000a"}::uuid AS id,
             ${n === null ? null : "ASSISTANT"}::text AS role, ${n}::float8 AS real,
             json_build_object('n', ${n}::int) AS json, char_length(${"héllo"}::text) AS length`;
    for (const n of [2, null]) {
      const direct = await queryRows<Record<string, unknown>>(prisma, statement(n));
      const viaPrisma = await prisma.$queryRaw<Record<string, unknown>[]>(statement(n));
      expect(direct).toEqual(viaPrisma);
    }
    const [row] = await queryRows<Record<string, unknown>>(prisma, statement(2));
    expect(row).toEqual({
      int: 2,
      big: 2n,
      bool: true,
      at: new Date(when),
      atZone: new Date(when),
      text: "text 2",
      id: "0196c0de-0000-7000-8000-00000000000a",
      role: "ASSISTANT",
      real: 2,
      json: { n: 2 },
      length: 5,
    });
  });

  it("returns rows of many columns as compact objects", async () => {
    const columns = Array.from({ length: 34 }, (_, i) => `${i} AS c${i}`).join(", ");
    const rows = await queryRows<Record<string, number>>(
      prisma,
      Prisma.sql`SELECT ${Prisma.raw(columns)} FROM generate_series(1, 2)`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]?.c33).toBe(33);
    for (const row of rows) expect(hasFastProperties(row)).toBe(true);
  });

  it("sends lists as arrays, and tells statement listeners of each statement", async () => {
    const seen: { query: string; params: string }[] = [];
    onQuery(prisma, (event) => seen.push(event));
    const rows = await queryRows<{ n: number; s: string | null }>(
      prisma,
      Prisma.sql`SELECT * FROM unnest(${[1, 2, 3]}::int[], ${["a", null, "c"]}::text[]) AS v(n, s)`,
    );
    expect(rows).toEqual([
      { n: 1, s: "a" },
      { n: 2, s: null },
      { n: 3, s: "c" },
    ]);
    const unnest = seen.filter((e) => e.query.includes("unnest"));
    expect(unnest).toHaveLength(1);
    expect(JSON.parse(unnest[0]?.params ?? "")).toEqual([
      [1, 2, 3],
      ["a", null, "c"],
    ]);
  });

  it("fails on constraints with errors the callers recognise, and writes nothing", async () => {
    await queryRows(prisma, Prisma.sql`INSERT INTO direct_parent VALUES (1, 'one') RETURNING id`);
    const duplicate = await queryRows(
      prisma,
      Prisma.sql`INSERT INTO direct_parent VALUES (2, 'one') RETURNING id`,
    ).catch((error: unknown) => error);
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(isForeignKeyViolation(duplicate)).toBe(false);
    const orphan = await queryRows(
      prisma,
      Prisma.sql`INSERT INTO direct_child VALUES (1, 99) RETURNING id`,
    ).catch((error: unknown) => error);
    expect(isForeignKeyViolation(orphan)).toBe(true);
    expect(await prisma.$queryRaw`SELECT count(*)::int AS n FROM direct_parent`).toEqual([{ n: 1 }]);
    expect(await prisma.$queryRaw`SELECT count(*)::int AS n FROM direct_child`).toEqual([{ n: 0 }]);
  });

  it("runs inside a transaction on the transaction's connection", async () => {
    const seen = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO direct_parent VALUES (10, 'ten')`;
      return queryRows<{ id: number }>(tx, Prisma.sql`SELECT id FROM direct_parent WHERE id = 10`);
    });
    expect(seen).toEqual([{ id: 10 }]);
    await expect(
      prisma.$transaction(async (tx) => {
        await queryRows(tx, Prisma.sql`INSERT INTO direct_parent VALUES (11, 'eleven') RETURNING id`);
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect(await queryRows(prisma, Prisma.sql`SELECT id FROM direct_parent WHERE id = 11`)).toEqual([]);
  });
});
