import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { Context } from '../../../resolvers/context.js';
import { formatError } from '../../../resolvers/errors.js';
import type { Limits, CostReport } from './limits.js';
import { fragmentsOf, operationCost } from './query-cost.js';
import type { RateLimitedError } from '../../domain/errors.js';

/**
 * Query cost over HTTP, as an Apollo plugin: once the operation is known and before it runs,
 * its cost is computed, refused over the maximum (400, BAD_USER_INPUT naming what costs what)
 * and spent from the viewer's budget (refused when it does not fit: 429 RATE_LIMITED). Every
 * response carries `extensions.cost { requested, remaining, resetAt }`; a response whose only
 * errors are RATE_LIMITED (the budget, or a field's rate limit) is a 429 with `Retry-After`.
 */
export function limitsPlugin(limits: Limits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      let report: CostReport | null = null;
      let refusal: RateLimitedError | null = null;
      return {
        async didResolveOperation({ operation, document, request, schema, contextValue }) {
          // Subscriptions over HTTP are refused by another plugin; they are paid for over WebSocket.
          if (!operation || operation.operation === 'subscription') return;
          const cost = operationCost(schema, operation, fragmentsOf(document), request.variables);
          if (cost.points > limits.config.maxQueryCost) {
            report = { requested: cost.points, ...(await remainingOf(limits, contextValue)) };
            limits.assertWithinMaximum(cost);
          }
          ({ report, refusal } = await limits.spend(contextValue.viewer.id, cost.points));
        },
        // A refusal answers here rather than by throwing above: a thrown error reaches
        // formatError without its domain cause, and RATE_LIMITED would lose its code.
        async responseForOperation() {
          if (!refusal) return null;
          // The one mapping of domain errors (resolvers/errors.ts); a RateLimitedError is never internal.
          const error = formatError({ message: refusal.message }, refusal, () => {});
          return { http: { status: 429, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { errors: [error] } } };
        },
        async willSendResponse(requestContext) {
          report ??= { requested: 0, ...(await remainingOf(limits, requestContext.contextValue)) };
          decorate(requestContext, report);
        },
      };
    },
  };
}

/** The viewer's remaining points and reset time (a full budget when the store is away). */
async function remainingOf(limits: Limits, context: Context): Promise<Omit<CostReport, 'requested'>> {
  const budget = await limits.budget(context.viewer.id);
  return { remaining: budget.remaining, resetAt: budget.resetAt.toISOString() };
}

function decorate({ response }: GraphQLRequestContextWillSendResponse<Context>, report: CostReport): void {
  const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
  result.extensions = { ...result.extensions, cost: report };
  const errors = result.errors ?? [];
  if (errors.length === 0 || !errors.every((e) => e.extensions?.code === 'RATE_LIMITED')) return;
  const retryAfter = Math.max(...errors.map((e) => Number(e.extensions?.retryAfterSeconds) || 1));
  response.http.status = 429;
  response.http.headers.set('retry-after', String(retryAfter));
}
