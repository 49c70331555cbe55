import { GraphQLError, GraphQLScalarType } from "graphql";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { builder } from "./builder.js";

builder.addScalarType("DateTime", DateTimeResolver);
builder.addScalarType("JSON", JSONResolver);

/**
 * An uploaded file: a variable filled by a GraphQL multipart request (the multipart request spec, which
 * Apollo's and urql's upload links send). Input only.
 */
builder.addScalarType(
  "File",
  new GraphQLScalarType<File, never>({
    name: "File",
    description: "A file uploaded with a GraphQL multipart request (input only).",
    parseValue(value) {
      if (isFile(value)) return value;
      throw new GraphQLError("A File must be sent as a multipart upload");
    },
    parseLiteral() {
      throw new GraphQLError("A File must be sent as a multipart upload, not written in the document");
    },
    serialize() {
      throw new GraphQLError("A File is input only");
    },
  }),
);

// The multipart parser (src/http/multipart.ts) hands over a File backed by a temporary file; duck-typed so
// that any implementation of the File interface is taken.
function isFile(value: unknown): value is File {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as File).stream === "function" &&
    typeof (value as File).size === "number"
  );
}
