import { GraphQLError } from 'graphql';
import { costlyFields, eventCost, type QueryCost } from './query-cost.js';

/**
 * Fields a subscription may not select: each event would run them again. `Batch.export`
 * reads every child and writes a file; a client asks for it once, with a query.
 */
const NOT_IN_SUBSCRIPTIONS: ReadonlySet<string> = new Set(['Batch.export']);

/**
 * Refuses, before it starts, a subscription whose events would be costly. It pays its
 * operation's cost once, at subscribe, but graphql-ws runs its whole selection again for every
 * event (for `batchProgress`, one per change, coalesced), so each event is bounded instead:
 * fields in `NOT_IN_SUBSCRIPTIONS` are refused, and so is a selection below the root costing
 * more than `maxEventPoints` (by `eventCost`, the rule of `operationCost`).
 * Throws a BAD_USER_INPUT `GraphQLError` naming the fields.
 */
export function assertSubscriptionAllowed(cost: QueryCost, maxEventPoints: number): void {
  const forbidden = cost.fields.filter((f) => NOT_IN_SUBSCRIPTIONS.has(f.coordinate));
  if (forbidden.length > 0) {
    const names = [...new Set(forbidden.map((f) => f.coordinate))].join(', ');
    throw new GraphQLError(
      `${names} cannot be selected in a subscription: it would run again on every event; ask for it with a query`,
      {
        extensions: {
          code: 'BAD_USER_INPUT',
          invalid: forbidden.map((f) => ({ path: f.path, message: `${f.coordinate} is not allowed in a subscription` })),
          http: { status: 400 },
        },
      },
    );
  }
  const perEvent = eventCost(cost);
  if (perEvent.points <= maxEventPoints) return;
  throw new GraphQLError(
    `each event of this subscription would cost ${perEvent.points} points (${perEvent.requests} page requests), ` +
      `over the maximum of ${maxEventPoints} per event: every event runs the whole selection again; ` +
      'select fewer pages below the subscription field, or read them with a query when an event says what changed',
    {
      extensions: {
        code: 'BAD_USER_INPUT',
        cost: { perEvent: perEvent.points, maximum: maxEventPoints, requests: perEvent.requests },
        invalid: costlyFields(perEvent),
        http: { status: 400 },
      },
    },
  );
}
