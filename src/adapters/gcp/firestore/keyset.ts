import { Timestamp, type Query, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import type { Edge, Page } from '../../../ports/page.js';
import { decodeCursor, encodeCursor } from '../../../ports/cursor.js';
import { InvalidCursorError } from '../../../domain/errors.js';
import type { ResolvedPageRequest } from '../../local/sqlite/keyset.js';

/**
 * One stretch of an ordering that one composite index serves: the documents of `query`,
 * ordered by `keys` all in `direction`. An ordering is segments read one after another ("by
 * affinity, then the jobs without one by index"), as in the SQLite store (sqlite/keyset.ts).
 */
export interface Segment {
  query: Query;
  keys: string[];
  direction: 'asc' | 'desc';
  /**
   * Keeps only the documents this says yes to, read in chunks until the page is full: for what
   * no query can express (a legacy document that lacks the field the ordering ranks by, which
   * `== null` does not match). Page cost then grows with the documents it skips.
   */
  keep?: (doc: QueryDocumentSnapshot) => boolean;
}

/** Documents a filtered segment reads per query. @default 200 // documents */
const FILTERED_CHUNK = 200;

/**
 * Reads one page by keyset: `orderBy(keys)` + `startAfter(cursor values)` + `limit(size + 1)`,
 * never an offset, so a page at depth 200 costs what the first page costs. Backward pages
 * read the reversed order from the cursor and are turned around.
 */
export async function readPage<T>(
  segments: Segment[],
  ordering: string,
  req: ResolvedPageRequest,
  map: (docs: QueryDocumentSnapshot[]) => Promise<T[]>,
): Promise<Page<T>> {
  const forward = req.direction === 'forward';
  const cursor = req.cursor === null ? null : decodeBound(req.cursor, ordering, segments, forward ? 'after' : 'before');
  const want = req.size + 1;
  const docs: { segment: number; doc: QueryDocumentSnapshot }[] = [];
  const order = forward ? segments.map((_, i) => i) : segments.map((_, i) => segments.length - 1 - i);
  for (const index of order) {
    if (docs.length >= want) break;
    if (cursor && (forward ? index < cursor.segment : index > cursor.segment)) continue;
    const segment = segments[index]!;
    const ascending = (segment.direction === 'asc') === forward;
    let query = segment.query;
    for (const key of segment.keys) query = query.orderBy(key, ascending ? 'asc' : 'desc');
    let from = cursor && cursor.segment === index ? cursor.values : null;
    for (;;) {
      const limit = segment.keep ? Math.max(want - docs.length, FILTERED_CHUNK) : want - docs.length;
      const snapshot = await (from ? query.startAfter(...from) : query).limit(limit).get();
      for (const doc of snapshot.docs) if (!segment.keep || segment.keep(doc)) docs.push({ segment: index, doc });
      const last = snapshot.docs[snapshot.docs.length - 1];
      if (!segment.keep || docs.length >= want || snapshot.size < limit || !last) break;
      from = segment.keys.map((k) => last.get(k) as unknown);
    }
  }
  const more = docs.length > req.size;
  const kept = docs.slice(0, req.size);
  if (!forward) kept.reverse();
  const nodes = await map(kept.map((k) => k.doc));
  const edges: Edge<T>[] = kept.map(({ segment, doc }, i) => ({
    node: nodes[i]!,
    cursor: encodeCursor(ordering, [segment, ...segments[segment]!.keys.map((k) => encodeValue(doc.get(k)))]),
  }));
  return {
    edges,
    hasNextPage: forward ? more : req.cursor !== null,
    hasPreviousPage: forward ? req.cursor !== null : more,
  };
}

/** Timestamps keep their nanoseconds (a legacy document may have them): `ts:seconds:nanos`. */
function encodeValue(value: unknown): unknown {
  return value instanceof Timestamp ? `ts:${value.seconds}:${value.nanoseconds}` : value;
}

function decodeValue(value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith('ts:')) return value;
  const [, seconds, nanos] = value.split(':');
  return new Timestamp(Number(seconds), Number(nanos));
}

function decodeBound(cursor: string, ordering: string, segments: Segment[], argument: 'after' | 'before') {
  const [segment, ...values] = decodeCursor(cursor, ordering, argument);
  const valid =
    typeof segment === 'number' &&
    segments[segment]?.keys.length === values.length &&
    values.every((v) => typeof v === 'number' || typeof v === 'string');
  if (!valid) throw new InvalidCursorError(argument, cursor, 'it is not a cursor this API issued');
  return { segment, values: values.map(decodeValue) };
}
