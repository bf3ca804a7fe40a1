import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { specifiedRules, type GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import type { Config } from '../config.js';

/**
 * Limits checked before execution, over HTTP and WebSocket alike: a query deeper than
 * `maxQueryDepth` or with more than `maxAliases` aliases is refused as a validation error.
 * Introspection is exempt from the depth limit (GraphiQL's own query is deep).
 */
export function limitRules(config: Pick<Config, 'maxQueryDepth' | 'maxAliases'>): ValidationRule[] {
  // graphql-armor throws from inside `validate` by default, which Apollo answers as a 500
  // INTERNAL and graphql-ws as close code 4500; reporting makes it an ordinary validation error.
  const report = {
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
  };
  return [
    maxDepthRule({
      n: config.maxQueryDepth,
      ignoreIntrospection: true,
      exposeLimits: true,
      ...report,
    }) as unknown as ValidationRule,
    maxAliasesRule({ n: config.maxAliases, exposeLimits: true, ...report }) as unknown as ValidationRule,
  ];
}

export function allRules(config: Pick<Config, 'maxQueryDepth' | 'maxAliases'>): ValidationRule[] {
  return [...specifiedRules, ...limitRules(config)];
}
