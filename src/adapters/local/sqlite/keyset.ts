import type { Statement } from 'better-sqlite3';
import type { Edge, Page, PageRequest } from '../../../ports/page.js';
import { decodeCursor, encodeCursor } from '../../../ports/cursor.js';
import { InvalidCursorError } from '../../../domain/errors.js';

/**
 * One stretch of an ordering that a single index serves: rows matching `where`, ordered by
 * `keys` all in `direction`. An ordering is a list of segments read one after another, so
 * "by affinity, then the jobs without one by index" is two segments, each one range scan.
 */
export interface Segment {
  where: string;
  params: unknown[];
  keys: string[];
  direction: 'ASC' | 'DESC';
}

export interface KeysetQuery<Row, T> {
  /** Prepares (and may cache) a statement. */
  statement: (sql: string) => Statement;
  /** `SELECT … FROM …` without WHERE or ORDER BY. */
  select: string;
  segments: Segment[];
  /** Names the ordering in the cursor, so a cursor from another ordering is refused. */
  ordering: string;
  map: (row: Row) => T;
}

interface Bound {
  segment: number;
  values: unknown[];
}

/**
 * Reads one page by keyset: `first` after a cursor reads forward from it, `last` before a
 * cursor reads backward, never with OFFSET. One more row than asked tells whether more exist.
 */
export function readPage<Row extends object, T>(q: KeysetQuery<Row, T>, req: ResolvedPageRequest): Page<T> {
  const forward = req.direction === 'forward';
  const cursor = req.cursor === null ? null : decodeBound(req.cursor, q.ordering, q.segments, forward ? 'after' : 'before');
  const want = req.size + 1;
  const rows: { segment: number; row: Row }[] = [];

  const order = forward ? q.segments.map((_, i) => i) : q.segments.map((_, i) => q.segments.length - 1 - i);
  for (const segmentIndex of order) {
    if (rows.length >= want) break;
    if (cursor && (forward ? segmentIndex < cursor.segment : segmentIndex > cursor.segment)) continue;
    const segment = q.segments[segmentIndex]!;
    const bounded = cursor !== null && cursor.segment === segmentIndex;
    const ascending = (segment.direction === 'ASC') === forward;
    const where = [segment.where];
    const params = [...segment.params];
    if (bounded) {
      where.push(`(${segment.keys.join(', ')}) ${ascending ? '>' : '<'} (${segment.keys.map(() => '?').join(', ')})`);
      params.push(...cursor.values);
    }
    const dir = ascending ? 'ASC' : 'DESC';
    const sql = `${q.select} WHERE ${where.join(' AND ')} ORDER BY ${segment.keys.map((k) => `${k} ${dir}`).join(', ')} LIMIT ?`;
    params.push(want - rows.length);
    for (const row of q.statement(sql).all(...params) as Row[]) rows.push({ segment: segmentIndex, row });
  }

  const more = rows.length > req.size;
  const kept = rows.slice(0, req.size);
  if (!forward) kept.reverse();
  const edges: Edge<T>[] = kept.map(({ segment, row }) => ({
    node: q.map(row),
    cursor: encodeCursor(q.ordering, [
      segment,
      ...q.segments[segment]!.keys.map((k) => (row as Record<string, unknown>)[bareColumn(k)]),
    ]),
  }));
  return {
    edges,
    hasNextPage: forward ? more : req.cursor !== null,
    hasPreviousPage: forward ? req.cursor !== null : more,
  };
}

export interface ResolvedPageRequest {
  direction: 'forward' | 'backward';
  size: number;
  cursor: string | null;
}

/** Turns the four Relay arguments into one direction, size and cursor. */
export function resolvePageRequest(req: PageRequest, defaultSize: number): ResolvedPageRequest {
  if (req.last != null || req.before != null) {
    return { direction: 'backward', size: req.last ?? defaultSize, cursor: req.before ?? null };
  }
  return { direction: 'forward', size: req.first ?? defaultSize, cursor: req.after ?? null };
}

function decodeBound(cursor: string, ordering: string, segments: Segment[], argument: 'after' | 'before'): Bound {
  const [segment, ...values] = decodeCursor(cursor, ordering, argument);
  const valid =
    typeof segment === 'number' &&
    segments[segment]?.keys.length === values.length &&
    values.every((v) => typeof v === 'number' || typeof v === 'string');
  if (!valid) {
    throw new InvalidCursorError(argument, cursor, 'it is not a cursor this API issued');
  }
  return { segment, values };
}

/** `jobs.created_at` → `created_at`: rows come back keyed by bare column names. */
function bareColumn(key: string): string {
  const dot = key.lastIndexOf('.');
  return dot < 0 ? key : key.slice(dot + 1);
}
