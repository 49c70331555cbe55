import { builder } from "./builder.js";

// The root types; their fields are added beside the types they return.
builder.queryType({});
builder.mutationType({});
