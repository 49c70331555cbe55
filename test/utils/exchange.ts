import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import type { Db } from "../../src/db/client.js";
import { insertConversationTrees, type TreeMessage } from "../../src/db/exchange.js";
import type { GraphQLResponse } from "./server.js";

/** A message of a seeded tree: only what a test cares about, the rest filled in. */
type SeedMessage = Pick<TreeMessage, "key" | "parentKey" | "content"> & Partial<TreeMessage>;

/**
 * Inserts a conversation tree of `ownerId`'s straight through the import writer: `messages` parents
 * first, `leaf` the active path's newest message. Timestamps are a second apart, in order.
 */
export async function seedTree(
  prisma: Db,
  ownerId: string,
  options: { title?: string; leaf: string; messages: SeedMessage[]; tags?: string[]; pinnedAt?: Date },
) {
  const start = Date.parse("2026-01-02T03:04:05.000Z");
  const messages: TreeMessage[] = options.messages.map((m, i) => ({
    role: i % 2 === 0 ? "USER" : "ASSISTANT",
    reasoning: null,
    status: "COMPLETE",
    error: null,
    model: null,
    usage: null,
    createdAt: new Date(start + i * 1000),
    updatedAt: new Date(start + i * 1000),
    feedback: null,
    toolCalls: [],
    ...m,
  }));
  const last = new Date(start + messages.length * 1000);
  const [id] = await insertConversationTrees(prisma, ownerId, [
    {
      title: options.title ?? "Seeded tree",
      createdAt: new Date(start),
      updatedAt: last,
      activityAt: last,
      archivedAt: null,
      pinnedAt: options.pinnedAt ?? null,
      tags: options.tags ?? [],
      activeLeafKey: options.leaf,
      messages,
    },
  ]);
  return id as string;
}

/**
 * Sends `document` as a GraphQL multipart request (the multipart request spec, as apollo-upload-client
 * does) with `content` as the file in `variables.file`.
 */
export async function uploadAt<R, V extends { file: unknown }>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: Omit<V, "file">,
  content: string | Uint8Array<ArrayBuffer>,
  token: string | null,
  name = "conversations.json",
): Promise<GraphQLResponse<R>> {
  const form = new FormData();
  form.set("operations", JSON.stringify({ query: print(document), variables: { ...variables, file: null } }));
  form.set("map", JSON.stringify({ 0: ["variables.file"] }));
  form.set("0", new Blob([content], { type: "application/json" }), name);
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : { "x-graphql-yoga-csrf": "test" },
    body: form,
  });
  const body = (await response.json()) as Omit<GraphQLResponse<R>, "status">;
  return { status: response.status, ...body };
}
