import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { characterLimitPlugin } from "@escape.tech/graphql-armor-character-limit";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.js";

/**
 * graphql-armor's limits on the document (characters, tokens, depth, cost, aliases, directives), checked
 * while parsing and validating, before anything executes; plus field suggestions blocked where
 * introspection is off (a "Did you mean" would leak the schema). Rejections are `BAD_USER_INPUT`.
 */
export function useOperationLimits(limits: Config["operations"], introspection: boolean): Plugin[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    blockFieldSuggestion: { enabled: !introspection },
  });
  return [
    characterLimitPlugin({ maxLength: limits.maxCharacters }),
    ...(armor.protect().plugins as Plugin[]),
    useDocumentErrorCodes(),
  ];
}

/**
 * Documents that fail to parse or validate (limits included) are the client's mistake: `BAD_USER_INPUT`,
 * one of the contract's codes, instead of graphql-js's and yoga's own codes.
 */
function useDocumentErrorCodes(): Plugin {
  const mark = (error: unknown) => {
    if (error instanceof GraphQLError) {
      (error.extensions as Record<string, unknown>).code = "BAD_USER_INPUT";
    }
  };
  return {
    onParse:
      () =>
      ({ result }) => {
        if (result instanceof Error) mark(result);
      },
    onValidate:
      () =>
      ({ valid, result }) => {
        if (!valid) for (const error of result) mark(error);
      },
  };
}
