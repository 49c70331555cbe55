import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin, { resolveNodes } from "@pothos/plugin-relay";
import { isUuid } from "../core/ids.js";
import type { Message } from "../db/columns.js";
import type GeneratedPrismaTypes from "../db/generated/pothos-types.js";
import { getDatamodel } from "../db/generated/pothos-types.js";
import type { Context } from "../resolvers/context.js";

/** The models as the client reads them: a message without `searchText`, which no read returns. */
type PrismaTypes = Omit<GeneratedPrismaTypes, "Message"> & {
  Message: Omit<GeneratedPrismaTypes["Message"], "Shape"> & { Shape: Message };
};

/** The one schema builder: its plugins, scalars and context. Types are defined in src/schema. */
interface Types {
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    File: { Input: File; Output: never };
  };
}

// Annotated, because the `nodes` resolver below hands the builder itself to the relay plugin.
export const builder: PothosSchemaTypes.SchemaBuilder<PothosSchemaTypes.ExtendDefaultTypes<Types>> =
  new SchemaBuilder<Types>({
    plugins: [PrismaPlugin, RelayPlugin],
    defaultFieldNullability: false,
    prisma: {
      client: (ctx) => ctx.prisma,
      dmmf: getDatamodel(),
      exposeDescriptions: true,
      filterConnectionTotalCount: true,
      onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
    },
    relay: {
      clientMutationId: "omit",
      cursorType: "String",
      edgesFieldOptions: { nullable: false },
      nodeFieldOptions: { nullable: false },
      // A well-formed global id whose inner id is no UUID names nothing that can exist: it resolves to null
      // like a missing object, rather than reaching the database (which refuses it) or a type's loader.
      nodeQueryOptions: {
        resolve: (_root, { id }, _ctx, _info, resolveNode) => (isLoadable(id) ? resolveNode(id) : null),
      },
      nodesQueryOptions: {
        resolve: (_root, { ids }, ctx, info) =>
          resolveNodes(
            builder,
            ctx,
            info,
            ids.map((id) => (isLoadable(id) ? id : null)),
          ),
      },
    },
  });

/** The node types `node(id:)` loads, all keyed by UUID. */
const NODE_TYPES = new Set(["Conversation", "Message", "Attachment"]);

function isLoadable(id: { typename: string; id: string }): boolean {
  return NODE_TYPES.has(id.typename) && isUuid(id.id);
}
