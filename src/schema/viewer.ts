import type { Viewer } from "../auth/tokens.js";
import { requireViewer } from "../resolvers/context.js";
import { countConversations } from "../resolvers/conversations.js";
import { builder } from "./builder.js";

/** The authenticated user. */
export const ViewerRef = builder.objectRef<Viewer>("Viewer").implement({
  description: "The authenticated user.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The user's id: the token's `sub`." }),
    conversationCount: t.int({
      description: "How many conversations the user has (not archived, unless `archived` is true).",
      args: { archived: t.arg.boolean({ defaultValue: false }) },
      resolve: (_viewer, args, ctx) => countConversations(ctx, args.archived),
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
