import {
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { Viewer } from '../request-context.js';
import type { CostReport, Limits } from './limits.js';
import { fragmentsOf, operationCost } from './query-cost.js';

export interface WsLimits<C extends object> {
  /**
   * graphql-ws `onSubscribe`: parses under the token limit, validates with `rules`, then
   * refuses an operation over the maximum cost or the viewer's budget before it runs, and
   * spends its cost (a subscription pays once, here). Answers the execution arguments, so
   * graphql-ws does not parse or validate again.
   */
  onSubscribe(ctx: C, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]>;
  /** Adds `extensions.cost` to the first result of operation `id` (later events are free). */
  withCost<R extends FormattedExecutionResult>(ctx: C, id: string, result: R): R;
}

/** Token, cost and budget limits for graphql-ws, the same as `limitsPlugin` over HTTP. */
export function createWsLimits<C extends object>(
  limits: Limits,
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  viewerOf: (ctx: C) => Viewer | null,
): WsLimits<C> {
  const reports = new WeakMap<C, Map<string, CostReport>>();
  return {
    async onSubscribe(ctx, id, payload) {
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: limits.config.maxTokens });
      } catch (error) {
        return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
      }
      const invalid = validate(schema, document, rules);
      if (invalid.length > 0) return invalid;
      const operation = getOperationAST(document, payload.operationName);
      const viewer = viewerOf(ctx);
      const args = { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
      // graphql-ws answers a missing operation itself; an unknown viewer is refused by its context.
      if (!operation || !viewer) return args;
      const cost = operationCost(schema, operation, fragmentsOf(document), payload.variables ?? undefined);
      try {
        limits.assertWithinMaximum(cost);
      } catch (error) {
        return [error as GraphQLError];
      }
      const { report, refusal } = await limits.spend(viewer.id, cost.points);
      // `path: []` lets formatError find the domain error (it unwraps only errors with a path),
      // so the client gets RATE_LIMITED and retryAfterSeconds as over HTTP.
      if (refusal) return [new GraphQLError(refusal.message, { path: [], originalError: refusal })];
      let byId = reports.get(ctx);
      if (!byId) reports.set(ctx, (byId = new Map()));
      byId.set(id, report);
      return args;
    },
    withCost(ctx, id, result) {
      const byId = reports.get(ctx);
      const report = byId?.get(id);
      if (!byId || !report) return result;
      byId.delete(id);
      return { ...result, extensions: { ...result.extensions, cost: report } };
    },
  };
}
