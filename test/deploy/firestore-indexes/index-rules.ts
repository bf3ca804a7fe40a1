import type { QueryShape, RecordedOrder } from './query-recorder.js';

/** One field of a composite index, as `firestore.indexes.json` writes it. */
export type IndexField =
  { fieldPath: string; order: 'ASCENDING' | 'DESCENDING' } | { fieldPath: string; arrayConfig: 'CONTAINS' };

/** A composite index in the Firebase CLI's `firestore.indexes.json` format. */
export interface CompositeIndex {
  collectionGroup: string;
  queryScope: 'COLLECTION' | 'COLLECTION_GROUP';
  fields: IndexField[];
}

/** An automatic single-field index a query relies on (so its field must not be exempted). */
export interface SingleFieldNeed {
  collectionGroup: string;
  fieldPath: string;
  mode: 'ASCENDING' | 'DESCENDING' | 'CONTAINS';
}

/** What one query needs: a composite index, or single-field indexes only. */
export type IndexNeed = { composite: CompositeIndex; singleFields: [] } | { composite: null; singleFields: SingleFieldNeed[] };

const EQUALITY = new Set(['EQUAL', 'IN', 'ARRAY_CONTAINS', 'ARRAY_CONTAINS_ANY']);
const RANGE = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'NOT_EQUAL', 'NOT_IN']);
const ARRAY = new Set(['ARRAY_CONTAINS', 'ARRAY_CONTAINS_ANY']);
const NAME = '__name__';

/**
 * The index a query needs, by the rules of Firestore (Standard edition), in our words:
 *
 * Sources: https://cloud.google.com/firestore/docs/concepts/index-overview (single-field
 * indexes, automatic for every field in both directions at collection scope; composite
 * indexes; merging of single-field indexes for equality filters);
 * `StructuredQuery.orderBy` in https://cloud.google.com/firestore/docs/reference/rest/v1/StructuredQuery
 * (the order the server completes a query's orderBy to); the Admin API's `Index.fields`
 * (https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.collectionGroups.indexes):
 * `__name__` is always the last field, added with the direction of the field before it;
 * https://cloud.google.com/firestore/docs/query-data/aggregation-queries and the SUM/AVG launch
 * post (https://cloud.google.com/blog/products/databases/aggregate-with-sum-and-avg-in-firestore):
 * sum() and average() are computed from index entries, so the summed field must be in the index.
 *
 * 1. `==`, `in`, `array-contains`, `array-contains-any` are equality filters (the array ones
 *    on an array-config CONTAINS field); `<`, `<=`, `>`, `>=`, `!=` (also `!= null`), `not-in`
 *    are range filters. `== null` is an equality.
 * 2. The server orders by the explicit orderBy clauses, then by every range field not ordered
 *    yet (sorted by path) in the direction of the last explicit order (ascending if none), then
 *    by `__name__` in that same direction.
 * 3. Equality filters only, ordered by `__name__` ascending (and count at most): served by the
 *    automatic single-field index of each equality field, merged; no composite index.
 * 4. Otherwise the index is: the equality fields (their order in the index does not matter to
 *    Firestore; written sorted by path here, so one query shape gives one index), then the
 *    ordered fields of rule 2 with their directions, then each summed/averaged field not in it
 *    yet (ascending, sorted). `__name__` is left out when it is last with the direction of the
 *    field before it (the server adds exactly that one).
 * 5. An index of one field is an automatic single-field index, not a composite one.
 *
 * A field with both an equality filter and an orderBy, and collection-group queries that a
 * single-field index would serve (they need a field override), are refused rather than guessed.
 */
export function indexNeed(query: QueryShape): IndexNeed {
  const equality = new Map<string, IndexField>();
  const ranges = new Set<string>();
  for (const f of query.filters) {
    if (EQUALITY.has(f.op)) {
      equality.set(
        f.field,
        ARRAY.has(f.op) ? { fieldPath: f.field, arrayConfig: 'CONTAINS' } : { fieldPath: f.field, order: 'ASCENDING' },
      );
    } else if (RANGE.has(f.op)) ranges.add(f.field);
    else throw new Error(`unknown filter operator ${f.op} on ${f.field}`);
  }
  for (const o of query.orders) {
    if (equality.has(o.field)) throw new Error(`${o.field} has an equality filter and an orderBy: not derived here`);
  }
  const orders = serverOrder(query.orders, ranges);
  const summed = [...new Set(query.aggregates.flatMap((a) => (a.kind === 'count' || a.field === null ? [] : [a.field])))].sort();
  const equalityFields = [...equality.values()].sort((a, b) => compare(a.fieldPath, b.fieldPath));

  const onlyNameAscending = orders.length === 1 && orders[0]!.direction === 'ASCENDING';
  if (onlyNameAscending && summed.length === 0) {
    return { composite: null, singleFields: equalityFields.map((f) => single(query.collectionGroup, f)) };
  }
  // `__name__` last in the server's order: the index ends with it implicitly when it follows the last direction.
  const name = orders[orders.length - 1]!.field === NAME ? orders.pop()! : null;
  const fields: IndexField[] = [...equalityFields, ...orders.map((o) => ({ fieldPath: o.field, order: o.direction }))];
  for (const s of summed) if (!fields.some((f) => f.fieldPath === s)) fields.push({ fieldPath: s, order: 'ASCENDING' });
  const last = fields[fields.length - 1];
  const implicit = last && 'order' in last ? last.order : 'ASCENDING';
  if (name && name.direction !== implicit) fields.push({ fieldPath: NAME, order: name.direction });
  if (fields.length <= 1) {
    if (query.queryScope === 'COLLECTION_GROUP') {
      throw new Error(`a collection-group query on ${query.collectionGroup} needs a single-field override: not derived here`);
    }
    return { composite: null, singleFields: fields.map((f) => single(query.collectionGroup, f)) };
  }
  return { composite: { collectionGroup: query.collectionGroup, queryScope: query.queryScope, fields }, singleFields: [] };
}

/** Rule 2: the order the server reads, `__name__` last. */
function serverOrder(explicit: RecordedOrder[], ranges: Set<string>): RecordedOrder[] {
  const orders = [...explicit];
  const direction = explicit[explicit.length - 1]?.direction ?? 'ASCENDING';
  for (const field of [...ranges].sort(compare)) {
    if (field !== NAME && !orders.some((o) => o.field === field)) orders.push({ field, direction });
  }
  if (!orders.some((o) => o.field === NAME)) orders.push({ field: NAME, direction });
  return orders;
}

function single(collectionGroup: string, f: IndexField): SingleFieldNeed {
  return { collectionGroup, fieldPath: f.fieldPath, mode: 'order' in f ? f.order : f.arrayConfig };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One line per index, for sets and for messages: `jobs COLLECTION user_id:ASCENDING created_at:DESCENDING`. */
export function indexKey(index: CompositeIndex): string {
  return [
    index.collectionGroup,
    index.queryScope,
    ...index.fields.map((f) => `${f.fieldPath}:${'order' in f ? f.order : f.arrayConfig}`),
  ].join(' ');
}
