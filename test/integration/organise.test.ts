import { randomUUID } from "node:crypto";
import type { ResultOf } from "@graphql-typed-document-node/core";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { ArchiveConversation, DeleteConversation } from "../utils/operations.js";
import {
  MessageFeedbacks,
  OrganisedConversations,
  PinConversation,
  RateMessage,
  SetConversationTags,
  UnpinConversation,
  ViewerTags,
} from "../utils/organise-operations.js";
import { seedConversation } from "../utils/seed.js";
import { type GraphQLResponse, startTestServer, type TestServer, tokenFor } from "../utils/server.js";

type Page = GraphQLResponse<ResultOf<typeof OrganisedConversations>>;
type Filter = { archived?: boolean; pinned?: boolean; tag?: string };

function codes(response: { errors?: readonly { extensions?: { code?: unknown } }[] }) {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

const gid = (typename: string, id: string) => encodeGlobalID(typename, id);

describe.each(testDatabaseKinds())("pins, tags and feedback on %s", (kind) => {
  let server: TestServer;
  let user: string;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(() => server?.close());

  async function freshUser() {
    user = `user-${randomUUID()}`;
    token = await tokenFor(user);
    return { user, token };
  }

  /** A conversation of another user, and that user's token. */
  async function someoneElses() {
    const other = `other-${randomUUID()}`;
    const c = await seedConversation(server.db.prisma, other, { messages: 2 });
    return { other, conversation: c, id: gid("Conversation", c.id) };
  }

  async function list(filter: Filter = {}) {
    const page = await server.request(OrganisedConversations, { first: 100, ...filter }, token);
    expect(page.errors).toBeUndefined();
    return page.data?.conversations.edges.map((e) => e.node.id) ?? [];
  }

  async function pageForward(size: number, filter: Filter = {}) {
    const seen: string[] = [];
    let after: string | null | undefined = null;
    for (;;) {
      const page: Page = await server.request(
        OrganisedConversations,
        { first: size, after, ...filter },
        token,
      );
      expect(page.errors).toBeUndefined();
      const c = page.data?.conversations;
      seen.push(...(c?.edges.map((e) => e.node.id) ?? []));
      if (!c?.pageInfo.hasNextPage) return seen;
      after = c.pageInfo.endCursor;
    }
  }

  async function pageBackward(size: number, filter: Filter = {}) {
    const seen: string[] = [];
    let before: string | null | undefined = null;
    for (;;) {
      const page: Page = await server.request(
        OrganisedConversations,
        { last: size, before, ...filter },
        token,
      );
      expect(page.errors).toBeUndefined();
      const c = page.data?.conversations;
      seen.unshift(...(c?.edges.map((e) => e.node.id) ?? []));
      if (!c?.pageInfo.hasPreviousPage) return seen;
      before = c.pageInfo.startCursor;
    }
  }

  describe("pins", () => {
    it("pins and unpins: pinned first, newest pin first, idempotent, back in place when unpinned", async () => {
      await freshUser();
      const base = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await seedConversation(server.db.prisma, user, { activityAt: new Date(base - i * 1000) });
        ids.push(gid("Conversation", c.id));
      }
      const [a, b, c, d] = ids as [string, string, string, string];
      expect(await list()).toEqual([a, b, c, d]);

      const pinnedC = await server.request(PinConversation, { id: c }, token);
      expect(pinnedC.errors).toBeUndefined();
      const pinnedAt = pinnedC.data?.pinConversation.conversation.pinnedAt;
      expect(pinnedAt).toBeTruthy();
      await new Promise((r) => setTimeout(r, 5));
      await server.request(PinConversation, { id: d }, token);
      expect(await list()).toEqual([d, c, a, b]);

      // Pinning again keeps the original pin time and place.
      const again = await server.request(PinConversation, { id: c }, token);
      expect(again.data?.pinConversation.conversation.pinnedAt).toBe(pinnedAt);
      expect(await list()).toEqual([d, c, a, b]);

      const unpinned = await server.request(UnpinConversation, { id: d }, token);
      expect(unpinned.data?.unpinConversation.conversation.pinnedAt).toBeNull();
      const unpinnedAgain = await server.request(UnpinConversation, { id: d }, token);
      expect(unpinnedAgain.data?.unpinConversation.conversation.pinnedAt).toBeNull();
      expect(await list()).toEqual([c, a, b, d]);
    });

    it("pages through a mix of pinned and unpinned conversations, forward and backward, at every size", async () => {
      await freshUser();
      const base = Date.now();
      const rows: { id: string; pinnedAt: Date | null; activityAt: Date }[] = [];
      const pinTimes = [
        new Date(base - 50_000),
        new Date(base - 40_000),
        new Date(base - 40_000), // the same instant as the one before: activity and id decide
        null,
        null,
        null,
        new Date(base - 60_000),
        null,
        null,
        null,
      ];
      for (const [i, pinnedAt] of pinTimes.entries()) {
        // Two pairs share an activity time: the id decides there.
        const activityAt = new Date(base - Math.floor(i / 2) * 1000 - (i % 3 === 0 ? 0 : 500));
        const c = await seedConversation(server.db.prisma, user, { activityAt });
        await server.db.prisma.conversation.update({
          where: { id: c.id },
          data: { pinned: pinnedAt !== null, pinnedAt },
        });
        rows.push({ id: c.id, pinnedAt, activityAt });
      }
      const expected = [...rows]
        .sort(
          (x, y) =>
            Number(y.pinnedAt !== null) - Number(x.pinnedAt !== null) ||
            (y.pinnedAt?.getTime() ?? 0) - (x.pinnedAt?.getTime() ?? 0) ||
            y.activityAt.getTime() - x.activityAt.getTime() ||
            (y.id > x.id ? 1 : -1),
        )
        .map((r) => gid("Conversation", r.id));
      expect(await list()).toEqual(expected);
      for (const size of [1, 2, 3, 4, 7]) {
        expect(await pageForward(size)).toEqual(expected);
        expect(await pageBackward(size)).toEqual(expected);
      }
      const pinnedIds = rows.filter((r) => r.pinnedAt).map((r) => gid("Conversation", r.id));
      const pinnedOrder = expected.filter((id) => pinnedIds.includes(id));
      const unpinnedOrder = expected.filter((id) => !pinnedIds.includes(id));
      for (const size of [1, 3]) {
        expect(await pageForward(size, { pinned: true })).toEqual(pinnedOrder);
        expect(await pageBackward(size, { pinned: true })).toEqual(pinnedOrder);
        expect(await pageForward(size, { pinned: false })).toEqual(unpinnedOrder);
        expect(await pageBackward(size, { pinned: false })).toEqual(unpinnedOrder);
      }

      // A page that straddles the boundary, then its neighbours by cursor, both ways.
      const middle = await server.request(OrganisedConversations, { first: 2, after: null }, token);
      const afterTwo = middle.data?.conversations.pageInfo.endCursor;
      const straddle = await server.request(OrganisedConversations, { first: 4, after: afterTwo }, token);
      expect(straddle.data?.conversations.edges.map((e) => e.node.id)).toEqual(expected.slice(2, 6));
      const back = await server.request(
        OrganisedConversations,
        { last: 3, before: straddle.data?.conversations.pageInfo.endCursor },
        token,
      );
      expect(back.data?.conversations.edges.map((e) => e.node.id)).toEqual(expected.slice(2, 5));
      expect(back.data?.conversations.pageInfo.hasPreviousPage).toBe(true);
    });

    it("filters by pinned, combined with archived, and counts what it filters", async () => {
      await freshUser();
      const base = Date.now();
      const make = async (i: number, archived: boolean) =>
        gid(
          "Conversation",
          (
            await seedConversation(server.db.prisma, user, {
              activityAt: new Date(base - i * 1000),
              archived,
            })
          ).id,
        );
      const active = await make(0, false);
      const activePinned = await make(1, false);
      const archived = await make(2, true);
      const archivedPinned = await make(3, true);
      await server.request(PinConversation, { id: activePinned }, token);
      await server.request(PinConversation, { id: archivedPinned }, token);

      expect(await list()).toEqual([activePinned, active]);
      expect(await list({ pinned: true })).toEqual([activePinned]);
      expect(await list({ pinned: false })).toEqual([active]);
      expect(await list({ archived: true })).toEqual([archivedPinned, archived]);
      expect(await list({ archived: true, pinned: true })).toEqual([archivedPinned]);
      const counted = await server.request(OrganisedConversations, { first: 1, pinned: true }, token);
      expect(counted.data?.conversations.totalCount).toBe(1);
      const countedArchived = await server.request(
        OrganisedConversations,
        { first: 1, archived: true, pinned: false },
        token,
      );
      expect(countedArchived.data?.conversations.totalCount).toBe(1);
    });

    it("answers NOT_FOUND for someone else's or a missing conversation and BAD_USER_INPUT for a malformed id, writing nothing", async () => {
      await freshUser();
      const theirs = await someoneElses();
      const pin = (id: string) => server.request(PinConversation, { id }, token);
      const unpin = (id: string) => server.request(UnpinConversation, { id }, token);
      const missing = gid("Conversation", randomUUID());
      for (const send of [pin, unpin]) {
        expect(codes(await send(theirs.id))).toEqual(["NOT_FOUND"]);
        expect(codes(await send(missing))).toEqual(["NOT_FOUND"]);
        expect(codes(await send("%%%"))).toEqual(["BAD_USER_INPUT"]);
        expect(codes(await send(gid("Message", randomUUID())))).toEqual(["NOT_FOUND"]);
      }
      const where = { id: theirs.conversation.id };
      const row = await server.db.prisma.conversation.findUniqueOrThrow({ where });
      expect(row).toMatchObject({ pinned: false, pinnedAt: null, updatedAt: theirs.conversation.updatedAt });
      // Their pin stays when someone else tries to take it off.
      const pinnedAt = new Date(Date.now() - 1000);
      await server.db.prisma.conversation.update({ where, data: { pinned: true, pinnedAt } });
      expect(codes(await unpin(theirs.id))).toEqual(["NOT_FOUND"]);
      expect(await server.db.prisma.conversation.findUniqueOrThrow({ where })).toMatchObject({
        pinned: true,
        pinnedAt,
      });
    });
  });

  describe("indexes and constraints", () => {
    /** The plan of `sql` when the planner is told to avoid sequential scans and sorts wherever it can. */
    async function plan(sql: string, ...values: unknown[]) {
      return server.db.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe("SET LOCAL enable_seqscan = off");
        await tx.$executeRawUnsafe("SET LOCAL enable_sort = off");
        const rows = await tx.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN ${sql}`, ...values);
        return rows.map((r) => r["QUERY PLAN"]).join("\n");
      });
    }

    it("reads the list's order, both ways, from an index, and serves the tag filter from the GIN index", async () => {
      await freshUser();
      for (let i = 0; i < 3; i++) await seedConversation(server.db.prisma, user);
      for (const direction of ["DESC", "ASC"]) {
        const order = ["pinned", "pinnedAt", "activityAt", "id"].map((c) => `"${c}" ${direction}`).join(", ");
        const forward = await plan(
          `SELECT id FROM "Conversation" WHERE "ownerId" = $1 AND "archivedAt" IS NULL ORDER BY ${order} LIMIT 20`,
          user,
        );
        expect(forward).toContain("Conversation_ownerId_pinned_pinnedAt_activityAt_id_idx");
        expect(forward).not.toMatch(/\bSort\b/);
      }
      const tagged = await plan(`SELECT id FROM "Conversation" WHERE tags @> ARRAY[$1]::text[]`, "work");
      expect(tagged).toContain("Conversation_tags_idx");
    });

    it("refuses a pin flag without a pin time (and the reverse)", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user);
      await expect(
        server.db.prisma.conversation.update({ where: { id: c.id }, data: { pinned: true } }),
      ).rejects.toThrow();
      await expect(
        server.db.prisma.conversation.update({ where: { id: c.id }, data: { pinnedAt: new Date() } }),
      ).rejects.toThrow();
    });
  });

  describe("tags", () => {
    it("replaces the set, normalised: trimmed, single-spaced, lower-case, duplicates dropped, order kept", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user);
      const id = gid("Conversation", c.id);
      const set = await server.request(
        SetConversationTags,
        { id, tags: [" Work ", "Rome\t  Trip", "work", "WORK", "ideas"] },
        token,
      );
      expect(set.errors).toBeUndefined();
      expect(set.data?.setConversationTags.conversation.tags).toEqual(["work", "rome trip", "ideas"]);
      const replaced = await server.request(SetConversationTags, { id, tags: ["Ideas"] }, token);
      expect(replaced.data?.setConversationTags.conversation.tags).toEqual(["ideas"]);
      const cleared = await server.request(SetConversationTags, { id, tags: [] }, token);
      expect(cleared.data?.setConversationTags.conversation.tags).toEqual([]);
      expect((await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: c.id } })).tags).toEqual(
        [],
      );
    });

    it("filters by tag in any spelling, combined with pinned and archived, and pages the result", async () => {
      await freshUser();
      const base = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await seedConversation(server.db.prisma, user, { activityAt: new Date(base - i * 1000) });
        ids.push(gid("Conversation", c.id));
      }
      const [a, b, c, d, e] = ids as [string, string, string, string, string];
      for (const id of [a, c, d]) await server.request(SetConversationTags, { id, tags: ["Work"] }, token);
      await server.request(SetConversationTags, { id: b, tags: ["home"] }, token);
      await server.request(PinConversation, { id: d }, token);
      await server.request(ArchiveConversation, { id: e }, token);
      await server.request(SetConversationTags, { id: e, tags: ["work"] }, token);

      expect(await list({ tag: "work" })).toEqual([d, a, c]);
      expect(await list({ tag: "  WORK " })).toEqual([d, a, c]);
      expect(await list({ tag: "work", pinned: false })).toEqual([a, c]);
      expect(await list({ tag: "work", archived: true })).toEqual([e]);
      expect(await list({ tag: "nothing" })).toEqual([]);
      expect(await pageForward(1, { tag: "work" })).toEqual([d, a, c]);
      expect(await pageBackward(2, { tag: "work" })).toEqual([d, a, c]);
      const counted = await server.request(OrganisedConversations, { first: 1, tag: "Work" }, token);
      expect(counted.data?.conversations.totalCount).toBe(3);

      const empty = await server.request(OrganisedConversations, { first: 1, tag: "  " }, token);
      expect(codes(empty)).toEqual(["BAD_USER_INPUT"]);
      expect(empty.errors?.[0]?.extensions?.field).toBe("tag");
    });

    it("counts the viewer's tags in one statement, most used first, then alphabetically", async () => {
      await freshUser();
      const made: string[] = [];
      for (let i = 0; i < 4; i++)
        made.push(gid("Conversation", (await seedConversation(server.db.prisma, user)).id));
      const [a, b, c, d] = made as [string, string, string, string];
      await server.request(SetConversationTags, { id: a, tags: ["work", "rome"] }, token);
      await server.request(SetConversationTags, { id: b, tags: ["work", "art"] }, token);
      await server.request(SetConversationTags, { id: c, tags: ["work", "rome"] }, token);
      await server.request(SetConversationTags, { id: d, tags: ["old"] }, token);
      await server.request(ArchiveConversation, { id: d }, token);
      const theirs = await someoneElses();
      await server.db.prisma.conversation.update({
        where: { id: theirs.conversation.id },
        data: { tags: ["work", "secret"] },
      });

      const statements: string[] = [];
      const listener = (e: { query: string }) => statements.push(e.query);
      onQuery(server.db.prisma, listener);
      const tags = await server.request(ViewerTags, {}, token);
      expect(tags.errors).toBeUndefined();
      expect(tags.data?.viewer.tags).toEqual([
        { tag: "work", count: 3 },
        { tag: "rome", count: 2 },
        { tag: "art", count: 1 },
      ]);
      // The approval timeout's periodic sweep (statements on "ToolCall") may fall inside the window.
      const counted = statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q) && !/"ToolCall"/.test(q));
      expect(counted).toHaveLength(1);
      const archived = await server.request(ViewerTags, { archived: true }, token);
      expect(archived.data?.viewer.tags).toEqual([{ tag: "old", count: 1 }]);

      await freshUser();
      expect((await server.request(ViewerTags, {}, token)).data?.viewer.tags).toEqual([]);
    });

    it.each([
      ["too many tags", Array.from({ length: 21 }, (_, i) => `t${i}`)],
      ["a tag too long", ["x".repeat(51)]],
      ["an empty tag", ["ok", "   "]],
      ["a NUL character", ["ok", "a\u0000b"]],
      ["a control character", ["a\u0007b"]],
    ])("refuses %s with BAD_USER_INPUT and writes nothing", async (_name, tags) => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user);
      const id = gid("Conversation", c.id);
      await server.request(SetConversationTags, { id, tags: ["keep"] }, token);
      const refused = await server.request(SetConversationTags, { id, tags }, token);
      expect(codes(refused)).toEqual(["BAD_USER_INPUT"]);
      // NUL is refused for every argument before any resolver runs (src/http/storable-text.ts).
      if (!tags.some((tag) => tag.includes("\u0000")))
        expect(refused.errors?.[0]?.extensions?.field).toBe("tags");
      expect((await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: c.id } })).tags).toEqual([
        "keep",
      ]);
    });

    it("accepts the limits exactly: 20 tags of 50 characters (duplicates beyond do not count)", async () => {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user);
      const tags = Array.from({ length: 20 }, (_, i) => `${i}`.padStart(50, "x"));
      const set = await server.request(
        SetConversationTags,
        { id: gid("Conversation", c.id), tags: [...tags, tags[0]?.toUpperCase() ?? ""] },
        token,
      );
      expect(set.errors).toBeUndefined();
      expect(set.data?.setConversationTags.conversation.tags).toEqual(tags);
    });

    it("answers NOT_FOUND for someone else's or a missing conversation and BAD_USER_INPUT for a malformed id, writing nothing", async () => {
      await freshUser();
      const theirs = await someoneElses();
      const tags = ["mine"];
      expect(codes(await server.request(SetConversationTags, { id: theirs.id, tags }, token))).toEqual([
        "NOT_FOUND",
      ]);
      const missing = gid("Conversation", randomUUID());
      expect(codes(await server.request(SetConversationTags, { id: missing, tags }, token))).toEqual([
        "NOT_FOUND",
      ]);
      expect(codes(await server.request(SetConversationTags, { id: "nope", tags }, token))).toEqual([
        "BAD_USER_INPUT",
      ]);
      const row = await server.db.prisma.conversation.findUniqueOrThrow({
        where: { id: theirs.conversation.id },
      });
      expect(row.tags).toEqual([]);
      expect(row.updatedAt).toEqual(theirs.conversation.updatedAt);
    });
  });

  describe("feedback", () => {
    async function seededMessages() {
      await freshUser();
      const c = await seedConversation(server.db.prisma, user, { messages: 4 });
      const messages = await server.db.prisma.message.findMany({
        where: { conversationId: c.id },
        orderBy: { position: "asc" },
      });
      const ids = messages.map((m) => gid("Message", m.id));
      // Positions 1 and 3 are the user's, 2 and 4 the assistant's.
      return { conversation: c, ids, rows: messages };
    }

    const feedbackRows = () => server.db.prisma.messageFeedback.count();

    it("rates an assistant message, replaces the rating, and clears it with a null rating", async () => {
      const { conversation, ids } = await seededMessages();
      const reply = ids[1] ?? "";
      const up = await server.request(
        RateMessage,
        { messageId: reply, rating: "UP", comment: "  great  " },
        token,
      );
      expect(up.errors).toBeUndefined();
      expect(up.data?.rateMessage.message).toMatchObject({
        id: reply,
        role: "ASSISTANT",
        feedback: { rating: "UP", comment: "great" },
      });
      const firstAt = up.data?.rateMessage.message.feedback?.updatedAt ?? "";

      const down = await server.request(
        RateMessage,
        { messageId: reply, rating: "DOWN", comment: " " },
        token,
      );
      expect(down.data?.rateMessage.message.feedback).toMatchObject({ rating: "DOWN", comment: null });
      expect(Date.parse(down.data?.rateMessage.message.feedback?.updatedAt ?? "")).toBeGreaterThanOrEqual(
        Date.parse(firstAt),
      );
      expect(await server.db.prisma.messageFeedback.count({ where: { ownerId: user } })).toBe(1);

      const page = await server.request(
        MessageFeedbacks,
        { id: gid("Conversation", conversation.id) },
        token,
      );
      expect(page.data?.conversation?.messages.edges.map((e) => e.node.feedback)).toEqual([
        null,
        { rating: "DOWN", comment: null },
        null,
        null,
      ]);

      const cleared = await server.request(RateMessage, { messageId: reply, rating: null }, token);
      expect(cleared.errors).toBeUndefined();
      expect(cleared.data?.rateMessage.message.feedback).toBeNull();
      const clearedAgain = await server.request(RateMessage, { messageId: reply }, token);
      expect(clearedAgain.data?.rateMessage.message.feedback).toBeNull();
      expect(await server.db.prisma.messageFeedback.count({ where: { ownerId: user } })).toBe(0);
    });

    it("goes with its message when the conversation is deleted", async () => {
      const { conversation, ids } = await seededMessages();
      await server.request(RateMessage, { messageId: ids[3] ?? "", rating: "UP" }, token);
      expect(await server.db.prisma.messageFeedback.count({ where: { ownerId: user } })).toBe(1);
      await server.request(DeleteConversation, { id: gid("Conversation", conversation.id) }, token);
      expect(await server.db.prisma.messageFeedback.count({ where: { ownerId: user } })).toBe(0);
    });

    it.each([
      ["a user's message", { index: 0, rating: "UP" as const, comment: null }, "messageId"],
      [
        "a comment over 2000 characters",
        { index: 1, rating: "UP" as const, comment: "x".repeat(2001) },
        "comment",
      ],
      ["a comment with NUL", { index: 1, rating: "DOWN" as const, comment: "a\u0000b" }, "comment"],
      [
        "a comment with a control character",
        { index: 1, rating: "DOWN" as const, comment: "a\u001bb" },
        "comment",
      ],
      ["a comment without a rating", { index: 1, rating: null, comment: "why" }, "comment"],
    ])("refuses %s with BAD_USER_INPUT and writes nothing", async (_name, input, field) => {
      const { ids } = await seededMessages();
      const before = await feedbackRows();
      const refused = await server.request(
        RateMessage,
        { messageId: ids[input.index] ?? "", rating: input.rating, comment: input.comment },
        token,
      );
      expect(codes(refused)).toEqual(["BAD_USER_INPUT"]);
      // NUL is refused for every argument before any resolver runs (src/http/storable-text.ts).
      if (!input.comment?.includes("\u0000")) expect(refused.errors?.[0]?.extensions?.field).toBe(field);
      expect(await server.db.prisma.messageFeedback.count({ where: { ownerId: user } })).toBe(0);
      expect(await feedbackRows()).toBe(before);
    });

    it("keeps a 2000-character comment", async () => {
      const { ids } = await seededMessages();
      const comment = "y".repeat(2000);
      const rated = await server.request(
        RateMessage,
        { messageId: ids[1] ?? "", rating: "UP", comment },
        token,
      );
      expect(rated.data?.rateMessage.message.feedback?.comment).toBe(comment);
    });

    it("answers NOT_FOUND for someone else's or a missing message and BAD_USER_INPUT for a malformed id, writing nothing", async () => {
      await freshUser();
      const theirs = await someoneElses();
      const theirReply = await server.db.prisma.message.findFirstOrThrow({
        where: { conversationId: theirs.conversation.id, role: "ASSISTANT" },
      });
      const before = await feedbackRows();
      for (const messageId of [
        gid("Message", theirReply.id),
        gid("Message", randomUUID()),
        gid("Conversation", theirs.conversation.id),
      ]) {
        expect(codes(await server.request(RateMessage, { messageId, rating: "UP" }, token))).toEqual([
          "NOT_FOUND",
        ]);
      }
      const malformed = await server.request(RateMessage, { messageId: "%%%", rating: "UP" }, token);
      expect(codes(malformed)).toEqual(["BAD_USER_INPUT"]);
      expect(malformed.errors?.[0]?.extensions?.field).toBe("messageId");
      // Someone else cannot clear another's rating either.
      await server.db.prisma.messageFeedback.create({
        data: { messageId: theirReply.id, ownerId: theirs.other, rating: "UP" },
      });
      const clear = await server.request(RateMessage, { messageId: gid("Message", theirReply.id) }, token);
      expect(codes(clear)).toEqual(["NOT_FOUND"]);
      expect(await feedbackRows()).toBe(before + 1);
      expect(await server.db.prisma.messageFeedback.count({ where: { messageId: theirReply.id } })).toBe(1);
    });
  });
});
