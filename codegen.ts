import type { CodegenConfig } from "@graphql-codegen/cli";
import { printSchema } from "graphql";
import { schema } from "./src/schema/index.js";

// The schema comes from the code (Pothos), printed here rather than as a side effect of an import.
// schema.graphql, test/generated and sdk/generated are committed; test/unit/codegen.test.ts fails when any of
// them is stale.

/** How both typed-document outputs read the schema's scalars and enums. */
const typesConfig = {
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: "string", JSON: "unknown", File: "File" },
};

const config: CodegenConfig = {
  schema: printSchema(schema),
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    "schema.graphql": { plugins: ["schema-ast"], config: { includeDirectives: true } },
    // The operations the tests send, written inline with `graphql()`.
    "test/generated/": {
      documents: ["test/**/*.ts", "!test/generated/**"],
      preset: "client",
      // persisted-documents.json (sha256 hash -> document) is what PERSISTED_OPERATIONS_FILE loads: a client
      // built with these documents can run against a server that accepts persisted operations only.
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: "sha256" } },
      config: typesConfig,
    },
    // The client SDK: documented operations and fragments that frontends import as typed documents.
    "sdk/generated/": {
      documents: ["sdk/operations/*.graphql"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { ...typesConfig, documentMode: "documentNode" },
    },
    // Which concrete types a union or interface can be: Apollo's `possibleTypes`.
    "sdk/generated/possible-types.ts": {
      plugins: ["fragment-matcher"],
      config: { useExplicitTyping: true },
    },
    // The schema, minified, for Graphcache's schema awareness (exact fragment matching, partial results).
    "sdk/generated/introspection.ts": {
      plugins: ["urql-introspection"],
      config: { module: "es2015", useTypeImports: true },
    },
  },
};

export default config;
