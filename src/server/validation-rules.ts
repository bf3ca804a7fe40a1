import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { specifiedRules, type ValidationRule } from 'graphql';
import type { Config } from '../config.js';

/**
 * Limits checked before execution, over HTTP and WebSocket alike: a query deeper than
 * `maxQueryDepth` or with more than `maxAliases` aliases is refused as a validation error.
 * Introspection is exempt from the depth limit (GraphiQL's own query is deep).
 */
export function limitRules(config: Pick<Config, 'maxQueryDepth' | 'maxAliases'>): ValidationRule[] {
  return [
    maxDepthRule({ n: config.maxQueryDepth, ignoreIntrospection: true, exposeLimits: true }) as unknown as ValidationRule,
    maxAliasesRule({ n: config.maxAliases, exposeLimits: true }) as unknown as ValidationRule,
  ];
}

export function allRules(config: Pick<Config, 'maxQueryDepth' | 'maxAliases'>): ValidationRule[] {
  return [...specifiedRules, ...limitRules(config)];
}
