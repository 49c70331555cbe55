import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { characterLimitPlugin } from "@escape.tech/graphql-armor-character-limit";
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type ValueNode,
  validate,
  visit,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../core/config.js";
import { BadUserInputError } from "../core/errors.js";

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
    ...(armor.protect().plugins as Plugin[]),
    // After armor's token limit, whose parser replaces (rather than wraps) the one before it.
    characterLimitPlugin({ maxLength: limits.maxCharacters }),
    useDocumentErrorCodes(),
    useCostWithVariables(limits.maxCost),
  ];
}

/**
 * graphql-armor's cost multiplies by `first`/`last` only when they are literals, so page sizes passed as
 * variables (as every real client does) would slip past it: nested connections could ask for 100 × 100
 * rows at the price of one. This checks the same cost again at execution, with the variables' values.
 */
function useCostWithVariables(maxCost: number): Plugin {
  // Most documents take no page size from a variable: remember which do, so the others cost nothing here.
  const pagedByVariable = new WeakMap<DocumentNode, boolean>();
  const check = (args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown }) => {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    if (Object.keys(variables).length === 0) return;
    let paged = pagedByVariable.get(args.document);
    if (paged === undefined) {
      paged = hasPageSizeVariable(args.document);
      pagedByVariable.set(args.document, paged);
    }
    if (!paged) return;
    const errors = validate(args.schema, withPageSizes(args.document, variables), [
      costLimitRule({ maxCost, ignoreIntrospection: true }),
    ]);
    if (errors.length > 0) {
      throw new BadUserInputError(
        errors[0]?.message.replace(/^Syntax Error: /, "") ?? "Query is too costly",
        "variables",
      );
    }
  };
  return {
    onExecute: ({ args }) => check(args),
    onSubscribe: ({ args }) => check(args),
  };
}

function hasPageSizeVariable(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Argument(node) {
      if ((node.name.value === "first" || node.name.value === "last") && node.value.kind === Kind.VARIABLE) {
        found = true;
      }
    },
  });
  return found;
}

/** The document with `first`/`last` variables replaced by their integer values. */
export function withPageSizes(document: DocumentNode, variables: Record<string, unknown>): DocumentNode {
  return visit(document, {
    Argument(node) {
      if (node.name.value !== "first" && node.name.value !== "last") return undefined;
      if (node.value.kind !== Kind.VARIABLE) return undefined;
      const value = variables[node.value.name.value];
      if (typeof value !== "number" || !Number.isInteger(value)) return undefined;
      const literal: ValueNode = { kind: Kind.INT, value: String(value) };
      return { ...node, value: literal };
    },
  });
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
