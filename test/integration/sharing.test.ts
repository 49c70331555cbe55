import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAttachment } from "../../src/db/attachments.js";
import { onQuery } from "../../src/db/client.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { seedTree } from "../utils/exchange.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import {
  ActivePath,
  ImportSharedConversation,
  RevokeShare,
  ShareConversation,
  SharedAttachmentsQuery,
  SharedConversationQuery,
  ViewerShares,
} from "../utils/sharing-operations.js";

const gid = (typename: string, id: string) => encodeGlobalID(typename, id);
const codes = (r: { errors?: readonly { extensions?: { code?: unknown } }[] }) =>
  (r.errors ?? []).map((e) => e.extensions?.code);
/** A client address of its own, so one test's reads do not use up another's share-read limit. */
const someAddress = () => `10.${[1, 2, 3].map(() => Math.floor(Math.random() * 250)).join(".")}`;
const SHARE_READS_PER_MINUTE = 5;

describe.each(testDatabaseKinds())("share links on %s", (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    // Real auth (no development user): the public query must work without any Authorization header.
    // One proxy in front, so each test reads from an address of its own (X-Forwarded-For).
    server = await startTestServer(kind, {
      RATE_LIMIT_SHARED_PER_MINUTE: String(SHARE_READS_PER_MINUTE),
      TRUST_PROXY: "1",
    });
  });
  afterAll(() => server?.close());

  /**
   * A conversation whose second user message was edited (two versions, the newer active) and whose last
   * reply made two tool calls, one answered and one still running; its ids by key.
   */
  async function branched(owner: string) {
    const id = await seedTree(server.db.prisma, owner, {
      title: "Trip planning",
      leaf: "a2",
      messages: [
        { key: "u1", parentKey: null, content: "Plan a trip to Lisbon" },
        {
          key: "a1",
          parentKey: "u1",
          content: "Sure: when?",
          role: "ASSISTANT",
          reasoning: "secret thoughts",
        },
        { key: "u2-old", parentKey: "a1", content: "OLD VERSION in May", role: "USER" },
        { key: "u2", parentKey: "a1", content: "In June", role: "USER" },
        {
          key: "a2",
          parentKey: "u2",
          content: "June is warm.",
          role: "ASSISTANT",
          error: "internal detail",
          toolCalls: [
            {
              round: 0,
              textOffset: 0,
              callId: "call_1",
              server: "weather-server",
              name: "forecast",
              arguments: { city: "Lisbon" },
              result: "28°C",
              isError: false,
              status: "COMPLETED",
              startedAt: new Date(),
              decidedAt: null,
              decision: null,
              completedAt: new Date(),
            },
            {
              round: 0,
              textOffset: 5,
              callId: "call_2",
              server: "weather-server",
              name: "hotels",
              arguments: { city: "Lisbon" },
              result: "NOT YET SEEN",
              isError: false,
              status: "RUNNING",
              startedAt: new Date(),
              decidedAt: null,
              decision: null,
              completedAt: null,
            },
          ],
        },
      ],
    });
    const rows = await server.db.prisma.message.findMany({ where: { conversationId: id } });
    const byContent = (text: string) => rows.find((r) => r.content === text)?.id as string;
    return {
      id,
      ids: rows.map((r) => r.id),
      u1: byContent("Plan a trip to Lisbon"),
      a1: byContent("Sure: when?"),
      u2Old: byContent("OLD VERSION in May"),
      a2: byContent("June is warm."),
    };
  }

  async function share(token: string, conversationId: string, upTo: string) {
    const r = await server.request(
      ShareConversation,
      { id: gid("Conversation", conversationId), upToMessageId: gid("Message", upTo) },
      token,
    );
    expect(r.errors).toBeUndefined();
    const made = r.data?.shareConversation.share;
    if (!made) throw new Error("no share");
    return { ...made, token: made.url.split("/").at(-1) as string };
  }

  const readPublic = (token: string, address = someAddress()) =>
    server.request(SharedConversationQuery, { token }, null, { headers: { "x-forwarded-for": address } });

  it("shows exactly the snapshot of the active path, with no token, ids or other branch", async () => {
    const owner = `owner-${randomUUID()}`;
    const c = await branched(owner);
    const made = await share(await tokenFor(owner), c.id, c.a2);
    expect(made.url).toBe(`${server.url}/share/${made.token}`);
    expect(made.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const r = await readPublic(made.token);
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
    expect(r.data?.sharedConversation).toEqual({
      title: "Trip planning",
      createdAt: made.createdAt,
      messages: [
        {
          role: "USER",
          content: "Plan a trip to Lisbon",
          createdAt: "2026-01-02T03:04:05.000Z",
          toolCalls: [],
        },
        { role: "ASSISTANT", content: "Sure: when?", createdAt: "2026-01-02T03:04:06.000Z", toolCalls: [] },
        { role: "USER", content: "In June", createdAt: "2026-01-02T03:04:08.000Z", toolCalls: [] },
        {
          role: "ASSISTANT",
          content: "June is warm.",
          createdAt: "2026-01-02T03:04:09.000Z",
          toolCalls: [
            { name: "forecast", arguments: { city: "Lisbon" }, result: "28°C", isError: false },
            // Still running when shared: the owner had not seen a result, so neither does anyone else.
            { name: "hotels", arguments: { city: "Lisbon" }, result: null, isError: false },
          ],
        },
      ],
    });

    // The stored row holds the token's hash only, and the whole public answer nothing of the owner.
    const row = await server.db.prisma.share.findFirstOrThrow({ where: { ownerId: owner } });
    expect(row.tokenHash).not.toContain(made.token);
    expect(JSON.stringify(row)).not.toContain(made.token);
    const raw = await (
      await fetch(`${server.url}/share/${made.token}`, { headers: { "x-forwarded-for": someAddress() } })
    ).text();
    for (const secret of [
      owner,
      c.id,
      ...c.ids,
      "OLD VERSION",
      "secret thoughts",
      "internal detail",
      "weather-server",
      "NOT YET SEEN",
    ])
      expect(raw).not.toContain(secret);
    expect(JSON.parse(raw).messages).toHaveLength(4);
  });

  it("shares the files sent with its messages, as links signed when read, without those deleted since", async () => {
    const owner = `owner-${randomUUID()}`;
    const c = await branched(owner);
    const bytes = new TextEncoder().encode("packing list: sandals, hat");
    const stored = await server.runtime.blobs.put(new Blob([bytes]).stream(), 1_000_000);
    const file = await insertAttachment(
      server.db.prisma,
      {
        ownerId: owner,
        filename: "packing.txt",
        contentType: "text/plain; charset=utf-8",
        size: stored.size,
        sha256: stored.sha256,
        kind: "TEXT",
        blobId: stored.id,
      },
      10_000_000,
    );
    if (!file) throw new Error("not recorded");
    await server.db.prisma.messageAttachment.create({
      data: { messageId: c.u1, attachmentId: file.id, position: 0 },
    });
    const made = await share(await tokenFor(owner), c.id, c.a2);

    const r = await server.request(SharedAttachmentsQuery, { token: made.token }, null, {
      headers: { "x-forwarded-for": someAddress() },
    });
    expect(r.errors).toBeUndefined();
    const messages = r.data?.sharedConversation?.messages ?? [];
    expect(messages.map((m) => m.attachments.length)).toEqual([1, 0, 0, 0]);
    const [shared] = messages[0]?.attachments ?? [];
    expect(shared).toMatchObject({
      filename: "packing.txt",
      contentType: "text/plain; charset=utf-8",
      size: bytes.length,
      kind: "TEXT",
    });
    // The link needs no token: anyone with the share can open the file.
    const download = await fetch(shared?.url as string);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("packing list: sandals, hat");
    const json = await (await fetch(made.url, { headers: { "x-forwarded-for": someAddress() } })).json();
    expect(json.messages[0].attachments).toEqual([{ ...shared, url: expect.any(String) }]);
    expect(JSON.stringify(json)).not.toContain(owner);

    // Someone whose storage is full cannot take the file: refused, nothing imported.
    const full = `full-${randomUUID()}`;
    await server.db.prisma.attachment.create({
      data: {
        ownerId: full,
        filename: "big.bin",
        contentType: "application/octet-stream",
        size: server.runtime.config.attachments.quotaBytes,
        sha256: stored.sha256,
        kind: "OTHER",
        blobId: stored.id,
      },
    });
    const refused = await server.request(
      ImportSharedConversation,
      { token: made.token },
      await tokenFor(full),
      {
        headers: { "x-forwarded-for": someAddress() },
      },
    );
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      limit: "attachmentQuota",
    });
    expect(await server.db.prisma.conversation.count({ where: { ownerId: full } })).toBe(0);

    // Continued by someone else: the file becomes theirs too (the same bytes, a new attachment of theirs).
    const reader = `reader-${randomUUID()}`;
    const imported = await server.request(
      ImportSharedConversation,
      { token: made.token },
      await tokenFor(reader),
      {
        headers: { "x-forwarded-for": someAddress() },
      },
    );
    expect(imported.errors).toBeUndefined();
    const theirs = await server.db.prisma.attachment.findMany({
      where: { ownerId: reader },
      include: { messages: { include: { message: { select: { content: true } } } } },
    });
    expect(theirs).toHaveLength(1);
    expect(theirs[0]).toMatchObject({ filename: "packing.txt", blobId: stored.id, size: bytes.length });
    expect(theirs[0]?.id).not.toBe(file.id);
    expect(theirs[0]?.messages.map((m) => m.message.content)).toEqual(["Plan a trip to Lisbon"]);

    // Deleted by its owner: no longer listed.
    await server.db.prisma.attachment.delete({ where: { id: file.id } });
    const after = await server.request(SharedAttachmentsQuery, { token: made.token }, null, {
      headers: { "x-forwarded-for": someAddress() },
    });
    expect(after.data?.sharedConversation?.messages.map((m) => m.attachments)).toEqual([[], [], [], []]);
  });

  it("is a snapshot: later edits, branch switches and deletion do not change it", async () => {
    const owner = `owner-${randomUUID()}`;
    const c = await branched(owner);
    const made = await share(await tokenFor(owner), c.id, c.a1);
    await server.db.prisma.message.update({ where: { id: c.a1 }, data: { content: "EDITED LATER" } });
    await server.db.prisma.conversation.update({ where: { id: c.id }, data: { title: "RENAMED" } });
    let r = await readPublic(made.token);
    expect(r.data?.sharedConversation?.title).toBe("Trip planning");
    expect(r.data?.sharedConversation?.messages.map((m) => m.content)).toEqual([
      "Plan a trip to Lisbon",
      "Sure: when?",
    ]);
    await server.db.prisma.conversation.delete({ where: { id: c.id } });
    r = await readPublic(made.token);
    expect(r.data?.sharedConversation?.messages).toHaveLength(2);
  });

  it("revoking makes the link answer null (and 404), only for the owner", async () => {
    const owner = `owner-${randomUUID()}`;
    const ownerToken = await tokenFor(owner);
    const c = await branched(owner);
    const made = await share(ownerToken, c.id, c.a2);

    const stranger = await tokenFor(`stranger-${randomUUID()}`);
    const theirs = await server.request(RevokeShare, { id: made.id }, stranger);
    expect(codes(theirs)).toEqual(["NOT_FOUND"]);
    expect((await readPublic(made.token)).data?.sharedConversation).not.toBeNull();

    const revoked = await server.request(RevokeShare, { id: made.id }, ownerToken);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data?.revokeShare.revokedShareId).toBe(made.id);
    const r = await readPublic(made.token);
    expect(r.errors).toBeUndefined();
    expect(r.data?.sharedConversation).toBeNull();
    const page = await fetch(made.url, { headers: { "x-forwarded-for": someAddress() } });
    expect(page.status).toBe(404);
    // Revoking again is fine; an unknown or malformed token is null like a revoked one.
    expect((await server.request(RevokeShare, { id: made.id }, ownerToken)).errors).toBeUndefined();
    expect((await readPublic("x".repeat(43))).data?.sharedConversation).toBeNull();
    expect((await readPublic("not a token")).data?.sharedConversation).toBeNull();
  });

  it("lists the owner's links that are not revoked, newest first, a page at a time, to revoke them", async () => {
    const owner = `owner-${randomUUID()}`;
    const ownerToken = await tokenFor(owner);
    const c = await branched(owner);
    const older = await share(ownerToken, c.id, c.a1);
    const revoked = await share(ownerToken, c.id, c.a2);
    const newer = await share(ownerToken, c.id, c.a2);
    expect((await server.request(RevokeShare, { id: revoked.id }, ownerToken)).errors).toBeUndefined();

    // The list reads the links, not their snapshots.
    const statements: string[] = [];
    let watching = true;
    onQuery(server.db.prisma, (event) => {
      if (watching) statements.push(event.query);
    });
    const first = await server.request(ViewerShares, { first: 1 }, ownerToken);
    watching = false;
    expect(first.errors).toBeUndefined();
    const reads = statements.filter((statement) => statement.includes('"Share"'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((statement) => statement.includes('"messages"'))).toEqual([]);
    const page = first.data?.viewer.shares;
    expect(page?.totalCount).toBe(2);
    expect(page?.edges.map((e) => e.node)).toEqual([
      {
        id: newer.id,
        title: "Trip planning",
        createdAt: newer.createdAt,
        conversation: { id: gid("Conversation", c.id) },
      },
    ]);
    expect(page?.pageInfo.hasNextPage).toBe(true);
    const second = await server.request(
      ViewerShares,
      { first: 10, after: page?.pageInfo.endCursor },
      ownerToken,
    );
    expect(second.data?.viewer.shares.edges.map((e) => e.node.id)).toEqual([older.id]);
    expect(second.data?.viewer.shares.pageInfo.hasNextPage).toBe(false);

    // Someone else sees none of them; a deleted conversation leaves its links listed, without it.
    const stranger = await server.request(ViewerShares, {}, await tokenFor(`stranger-${randomUUID()}`));
    expect(stranger.data?.viewer.shares.edges).toEqual([]);
    await server.db.prisma.conversation.delete({ where: { id: c.id } });
    const after = await server.request(ViewerShares, {}, ownerToken);
    expect(after.data?.viewer.shares.edges.map((e) => [e.node.id, e.node.conversation])).toEqual([
      [newer.id, null],
      [older.id, null],
    ]);
    expect(codes(await server.request(ViewerShares, { first: 1000 }, ownerToken))).toEqual([
      "BAD_USER_INPUT",
    ]);
  });

  it("refuses someone else's conversation, a message off the active path, and anonymous callers", async () => {
    const owner = `owner-${randomUUID()}`;
    const ownerToken = await tokenFor(owner);
    const c = await branched(owner);
    const stranger = await tokenFor(`stranger-${randomUUID()}`);
    const variables = { id: gid("Conversation", c.id), upToMessageId: gid("Message", c.a2) };

    expect(codes(await server.request(ShareConversation, variables, stranger))).toEqual(["NOT_FOUND"]);
    expect(codes(await server.request(ShareConversation, variables, null))).toEqual(["UNAUTHENTICATED"]);
    const offPath = await server.request(
      ShareConversation,
      { ...variables, upToMessageId: gid("Message", c.u2Old) },
      ownerToken,
    );
    expect(codes(offPath)).toEqual(["BAD_USER_INPUT"]);
    expect(offPath.errors?.[0]?.message).toMatch(/active path/);
    const otherConversation = await branched(owner);
    const elsewhere = await server.request(
      ShareConversation,
      { ...variables, upToMessageId: gid("Message", otherConversation.a2) },
      ownerToken,
    );
    expect(codes(elsewhere)).toEqual(["NOT_FOUND"]);
    expect(
      codes(await server.request(ShareConversation, { ...variables, upToMessageId: "nonsense" }, ownerToken)),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(await server.db.prisma.share.count({ where: { ownerId: owner } })).toBe(0);
  });

  it("rate-limits reads per client address", async () => {
    const owner = `owner-${randomUUID()}`;
    const c = await branched(owner);
    const made = await share(await tokenFor(owner), c.id, c.a2);
    const address = someAddress();
    for (let i = 0; i < SHARE_READS_PER_MINUTE; i++)
      expect((await readPublic(made.token, address)).errors).toBeUndefined();
    const refused = await readPublic(made.token, address);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", limit: "shared" });
    const page = await fetch(made.url, { headers: { "x-forwarded-for": address } });
    expect(page.status).toBe(429);
    // Another address is not affected.
    expect((await readPublic(made.token)).errors).toBeUndefined();
  });

  it("importSharedConversation continues the snapshot as the caller's own copy", async () => {
    const owner = `owner-${randomUUID()}`;
    const c = await branched(owner);
    const made = await share(await tokenFor(owner), c.id, c.a2);
    const reader = `reader-${randomUUID()}`;
    const readerToken = await tokenFor(reader);

    // The whole link does as well as its token.
    const r = await server.request(ImportSharedConversation, { token: made.url }, readerToken, {
      headers: { "x-forwarded-for": someAddress() },
    });
    expect(r.errors).toBeUndefined();
    const copy = r.data?.importSharedConversation.conversation;
    expect(copy?.title).toBe("Trip planning");
    expect(copy?.messageCount).toBe(4);
    expect(copy?.messages.edges.map((e) => [e.node.role, e.node.content])).toEqual([
      ["USER", "Plan a trip to Lisbon"],
      ["ASSISTANT", "Sure: when?"],
      ["USER", "In June"],
      ["ASSISTANT", "June is warm."],
    ]);
    expect(copy?.messages.edges[3]?.node.toolCalls).toEqual([
      { name: "forecast", result: "28°C" },
      { name: "hotels", result: null },
    ]);
    // The reader's own: readable by them, a path of four with no other branch; the owner's is untouched.
    const path = await server.request(ActivePath, { id: copy?.id as string }, readerToken);
    expect(path.data?.conversation?.messages.edges.map((e) => e.node.siblingCount)).toEqual([1, 1, 1, 1]);
    expect(await server.db.prisma.conversation.count({ where: { ownerId: reader } })).toBe(1);
    expect(await server.db.prisma.message.count({ where: { conversationId: c.id } })).toBe(5);

    const unknown = await server.request(ImportSharedConversation, { token: "y".repeat(43) }, readerToken, {
      headers: { "x-forwarded-for": someAddress() },
    });
    expect(codes(unknown)).toEqual(["NOT_FOUND"]);
    const anonymous = await server.request(ImportSharedConversation, { token: made.token }, null, {
      headers: { "x-forwarded-for": someAddress() },
    });
    expect(codes(anonymous)).toEqual(["UNAUTHENTICATED"]);
  });
});
