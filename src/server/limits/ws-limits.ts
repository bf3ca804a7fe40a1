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
import { RateLimitedError } from '../../domain/errors.js';
import type { Viewer } from '../request-context.js';
import type { CostReport, Limits } from './limits.js';
import { OpenSubscriptions } from './open-subscriptions.js';
import { fragmentsOf, operationCost } from './query-cost.js';
import { assertSubscriptionAllowed } from './subscription-cost.js';

/** When a user over `OMTX_MAX_SUBSCRIPTIONS_PER_USER` is told to try again. @default 5 // seconds */
const OPEN_SUBSCRIPTIONS_RETRY_SECONDS = 5;

export interface WsLimits<C extends object> {
  /**
   * graphql-ws `onSubscribe`: parses under the token limit, validates with `rules`, then
   * refuses an operation over the maximum cost or the viewer's budget before it runs, and
   * spends its cost (a subscription pays once, here). A subscription is also refused when
   * one of its events would cost too much (`assertSubscriptionAllowed`) or when the viewer
   * already has `OMTX_MAX_SUBSCRIPTIONS_PER_USER` open in this process (RATE_LIMITED).
   * Answers the execution arguments, so graphql-ws does not parse or validate again.
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
  const open = new OpenSubscriptions<C>(isRunning);
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
      const isSubscription = operation.operation === 'subscription';
      try {
        limits.assertWithinMaximum(cost);
        if (isSubscription) assertSubscriptionAllowed(cost, limits.config.maxSubscriptionEventCost);
      } catch (error) {
        return [error as GraphQLError];
      }
      const maxOpen = limits.config.maxSubscriptionsPerUser;
      if (isSubscription && maxOpen > 0) {
        // Counted and registered in one synchronous step, before the await below: of two
        // subscriptions arriving together, the second sees the first.
        const count = open.count(viewer.id);
        if (count >= maxOpen) {
          const error = new RateLimitedError(
            `too many subscriptions: you have ${count} open, at most ${maxOpen} per user; ` +
              `complete one first; retry after ${OPEN_SUBSCRIPTIONS_RETRY_SECONDS} s`,
            OPEN_SUBSCRIPTIONS_RETRY_SECONDS,
          );
          return [asWsError(error)];
        }
        // One the budget refuses below ends at once, and with it its place in the count.
        open.add(viewer.id, ctx, id);
      }
      const { report, refusal } = await limits.spend(viewer.id, cost.points);
      if (refusal) return [asWsError(refusal)];
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

/**
 * A domain error as graphql-ws's `onError` passes it to formatError: `path: []` lets
 * formatError find it (it unwraps only errors with a path), so the client gets RATE_LIMITED
 * and retryAfterSeconds as over HTTP.
 */
function asWsError(error: RateLimitedError): GraphQLError {
  return new GraphQLError(error.message, { path: [], originalError: error });
}

/**
 * Whether operation `id` still runs on a graphql-ws socket: graphql-ws keeps it in the
 * context's `subscriptions` (its documented `Context.subscriptions`) from before
 * `onSubscribe` until it completes, errors or the socket closes.
 */
function isRunning(ctx: object, id: string): boolean {
  if (!('subscriptions' in ctx)) return false;
  const running = ctx.subscriptions;
  return typeof running === 'object' && running !== null && id in running;
}
