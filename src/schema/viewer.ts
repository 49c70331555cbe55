import type { Viewer } from "../auth/tokens.js";
import { requireViewer } from "../resolvers/context.js";
import { countConversations } from "../resolvers/conversations.js";
import { viewerTags } from "../resolvers/organise.js";
import { builder } from "./builder.js";

/** A tag and how many of the user's conversations carry it. */
export const TagCountRef = builder.objectRef<{ tag: string; count: number }>("TagCount").implement({
  description: "A tag and how many of the user's conversations carry it.",
  fields: (t) => ({
    tag: t.exposeString("tag", { description: "The tag, normalised (trimmed, lower-case)." }),
    count: t.exposeInt("count"),
  }),
});

/** The authenticated user. */
export const ViewerRef = builder.objectRef<Viewer>("Viewer").implement({
  description: "The authenticated user.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The user's id: the token's `sub`." }),
    conversationCount: t.int({
      description: "How many conversations the user has (not archived, unless `archived` is true).",
      args: { archived: t.arg.boolean({ defaultValue: false }) },
      resolve: (_viewer, args, ctx) => countConversations(ctx, { archived: args.archived }),
    }),
    tags: t.field({
      type: [TagCountRef],
      description:
        "The user's tags with how many conversations carry each (not archived ones, unless `archived` is true), most used first, then alphabetically.",
      args: { archived: t.arg.boolean({ defaultValue: false }) },
      resolve: (_viewer, args, ctx) => viewerTags(ctx, args.archived),
    }),
  }),
});

builder.queryField("viewer", (t) =>
  t.field({
    type: ViewerRef,
    description: "The authenticated user.",
    resolve: (_root, _args, ctx) => requireViewer(ctx),
  }),
);
