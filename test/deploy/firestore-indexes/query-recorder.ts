import { AsyncLocalStorage } from 'node:async_hooks';
import { Query, Transaction, type Firestore } from '@google-cloud/firestore';

/** A filter as the SDK sends it: the field and Firestore's operator (`EQUAL`, `IN`, `LESS_THAN`, …). */
export interface RecordedFilter {
  field: string;
  op: string;
}

export interface RecordedOrder {
  field: string;
  direction: 'ASCENDING' | 'DESCENDING';
}

/** What a query asks the server for; the parts that decide which index serves it. */
export interface QueryShape {
  collectionGroup: string;
  queryScope: 'COLLECTION' | 'COLLECTION_GROUP';
  filters: RecordedFilter[];
  /** The explicit orderBy clauses, in the direction the server reads them (limitToLast flipped). */
  orders: RecordedOrder[];
  /** Empty for a plain query; `count` has no field. */
  aggregates: { kind: 'count' | 'sum' | 'avg'; field: string | null }[];
}

/** One query an adapter ran, and who ran it. */
export interface RecordedQuery extends QueryShape {
  /** The port method being exercised when the query ran (`JobStore.listJobs`), or null. */
  caller: string | null;
  via: 'get' | 'stream' | 'listen' | 'transaction';
}

/** The SDK's internals this reads (node_modules/@google-cloud/firestore/build/src/reference/query.js). */
interface InternalQuery {
  _queryOptions: {
    collectionId: string;
    allDescendants: boolean;
    kindless: boolean;
    limitType?: number;
    filters: { getFlattenedFilters(): { field: { formattedName: string }; op: string }[]; _getOperator?(): string }[];
    fieldOrders: { field: { formattedName: string }; direction: 'ASCENDING' | 'DESCENDING' }[];
  };
}

interface InternalAggregateQuery {
  _query: InternalQuery;
  _aggregates: Record<string, { aggregateType: 'count' | 'sum' | 'avg'; _field?: string | { formattedName: string } }>;
}

/** `LimitType.Last` in the SDK (reference/types.js). */
const LIMIT_TO_LAST = 1;

type Method = (...args: unknown[]) => unknown;

/**
 * Records every query run through the SDK while it is installed, by wrapping the entry points
 * that send one: `Query#get`, `#stream`, `#onSnapshot` (listeners), `AggregateQuery#get`
 * (count/sum/avg), and `Transaction#get` of a query or an aggregate query. The SDK's own
 * internals call the private `_get`/`_stream`, never these, so nothing is counted twice.
 * `as(caller, fn)` names the port method under exercise; queries run inside `fn` carry it.
 */
export function recordQueries(db: Firestore): {
  queries: RecordedQuery[];
  as<T>(caller: string, fn: () => Promise<T> | T): Promise<T>;
  restore(): void;
} {
  const queries: RecordedQuery[] = [];
  const callers = new AsyncLocalStorage<string>();
  const record = (query: unknown, via: RecordedQuery['via']) => {
    queries.push({ ...shapeOf(query), caller: callers.getStore() ?? null, via });
  };

  const queryProto = Query.prototype as unknown as Record<string, Method>;
  // AggregateQuery is not exported at run time: reach its prototype through an instance.
  const aggregateProto = Object.getPrototypeOf(db.collection('_').count()) as Record<string, Method>;
  const transactionProto = Transaction.prototype as unknown as Record<string, Method>;
  const restores: (() => void)[] = [];
  const wrap = (proto: Record<string, Method>, name: string, before: (self: unknown, args: unknown[]) => void) => {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      before(this, args);
      return original.apply(this, args);
    };
    restores.push(() => {
      proto[name] = original;
    });
  };
  wrap(queryProto, 'get', (self) => record(self, 'get'));
  wrap(queryProto, 'stream', (self) => record(self, 'stream'));
  wrap(queryProto, 'onSnapshot', (self) => record(self, 'listen'));
  wrap(aggregateProto, 'get', (self) => record(self, 'get'));
  wrap(transactionProto, 'get', (_self, [target]) => {
    if (target instanceof Query || Object.getPrototypeOf(target) === aggregateProto) record(target, 'transaction');
  });

  return {
    queries,
    as: (caller, fn) => callers.run(caller, async () => fn()),
    restore: () => restores.reverse().forEach((r) => r()),
  };
}

function shapeOf(target: unknown): QueryShape {
  const aggregate = target instanceof Query ? null : (target as InternalAggregateQuery);
  const options = (aggregate ? aggregate._query : (target as InternalQuery))._queryOptions;
  if (options.kindless) throw new Error('a kindless query (recursiveDelete): no index rule is derived for it');
  const filters = options.filters.map((f) => {
    // Our rules are for conjunctions only: an OR needs an index per disjunct, which this does not derive.
    if (f._getOperator && f._getOperator() !== 'AND') throw new Error(`an ${f._getOperator()} filter: not derived here`);
    return f.getFlattenedFilters().map((ff) => ({ field: ff.field.formattedName, op: ff.op }));
  });
  const flip = options.limitType === LIMIT_TO_LAST;
  return {
    collectionGroup: options.collectionId,
    queryScope: options.allDescendants ? 'COLLECTION_GROUP' : 'COLLECTION',
    filters: filters.flat(),
    orders: options.fieldOrders.map((o) => ({
      field: o.field.formattedName,
      direction: flip ? (o.direction === 'ASCENDING' ? 'DESCENDING' : 'ASCENDING') : o.direction,
    })),
    aggregates: aggregate
      ? Object.values(aggregate._aggregates).map((a) => ({
          kind: a.aggregateType,
          field: a._field === undefined ? null : typeof a._field === 'string' ? a._field : a._field.formattedName,
        }))
      : [],
  };
}
