import type { CodegenConfig } from "@graphql-codegen/cli";
import { printSchema } from "graphql";
import { schema } from "./src/schema/index.js";

// The schema comes from the code (Pothos), printed here rather than as a side effect of an import.
// schema.graphql is committed; test/unit/schema.test.ts fails when it is stale.
const config: CodegenConfig = {
  schema: printSchema(schema),
  documents: ["test/**/*.ts", "!test/generated/**"],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    "schema.graphql": { plugins: ["schema-ast"], config: { includeDirectives: true } },
    "test/generated/": {
      preset: "client",
      // persisted-documents.json (sha256 hash -> document) is what PERSISTED_OPERATIONS_FILE loads: a client
      // built with these documents can run against a server that accepts persisted operations only.
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: "sha256" } },
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: "string", JSON: "unknown" } },
    },
  },
};

export default config;
