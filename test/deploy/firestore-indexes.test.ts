import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { emulatorFirestore } from '../support/emulators/firestore.js';
import { RUNS_QUERIES, exerciseAdapters, type PortMethod } from './firestore-indexes/exercise-adapters.js';
import { indexKey, indexNeed, type CompositeIndex, type SingleFieldNeed } from './firestore-indexes/index-rules.js';
import { recordQueries, type QueryShape, type RecordedQuery } from './firestore-indexes/query-recorder.js';

/**
 * deploy/firestore.indexes.json must hold exactly the composite indexes the Google Cloud
 * adapters' queries need. The emulator serves any query without an index, so this is the only
 * check: every port method is driven against the emulator with every filter and ordering the
 * ports allow, each query the SDK sends is recorded, and the index it needs is derived by
 * Firestore's rules (firestore-indexes/index-rules.ts).
 */
const FILE = fileURLToPath(new URL('../../deploy/firestore.indexes.json', import.meta.url));

/**
 * `jobs` fields whose values only grow (creation, update and commit times): a single-field
 * index on one caps writes to the collection at ~500/s (EMULATORS.md, Firestore's hotspot
 * limit). They must be exempt from single-field indexing unless a query needs that index.
 */
const MONOTONIC_FIELDS = ['created_at', 'updated_at', 'changed_at'].map((fieldPath) => ({ collectionGroup: 'jobs', fieldPath }));

interface IndexesFile {
  indexes: CompositeIndex[];
  fieldOverrides: { collectionGroup: string; fieldPath: string; indexes?: unknown[]; ttl?: boolean }[];
}

function describeQuery(q: RecordedQuery): string {
  const filters = q.filters.map((f) => `${f.field} ${f.op}`).join(', ');
  const orders = q.orders.map((o) => `${o.field} ${o.direction}`).join(', ');
  const aggregates = q.aggregates.map((a) => `${a.kind}(${a.field ?? ''})`).join(', ');
  return `${q.caller} [${q.via}] ${q.collectionGroup}: where ${filters || '-'}; order ${orders || '-'}${aggregates ? `; ${aggregates}` : ''}`;
}

describe('deploy/firestore.indexes.json', () => {
  let recorded: RecordedQuery[] = [];
  const exercised = new Set<PortMethod>();
  /** Derived composite indexes by key, with the queries that need each. */
  const derived = new Map<string, { index: CompositeIndex; queries: Set<string> }>();
  const singleFields: { need: SingleFieldNeed; query: string }[] = [];

  beforeAll(async () => {
    const { db } = emulatorFirestore();
    const recorder = recordQueries(db);
    try {
      await exerciseAdapters(db, (method, fn) => {
        exercised.add(method);
        return recorder.as(method, fn);
      });
    } finally {
      recorder.restore();
      await db.terminate();
    }
    recorded = recorder.queries;
    for (const q of recorded) {
      const need = indexNeed(q);
      const label = describeQuery(q);
      if (need.composite) {
        const key = indexKey(need.composite);
        const entry = derived.get(key) ?? { index: need.composite, queries: new Set<string>() };
        entry.queries.add(label);
        derived.set(key, entry);
      }
      for (const s of need.singleFields) singleFields.push({ need: s, query: label });
    }
  }, 180_000);

  const file = (): IndexesFile => JSON.parse(readFileSync(FILE, 'utf8')) as IndexesFile;

  it('records queries only from inside a port method, and from every method that queries', () => {
    expect(recorded.filter((q) => q.caller === null).map(describeQuery), 'queries run outside a port method').toEqual([]);
    const methods = Object.keys(RUNS_QUERIES) as PortMethod[];
    expect(
      methods.filter((m) => !exercised.has(m)),
      'port methods never exercised',
    ).toEqual([]);
    const querying = new Set(recorded.map((q) => q.caller));
    expect(
      methods.filter((m) => RUNS_QUERIES[m] && !querying.has(m)),
      'methods listed as querying that ran no query',
    ).toEqual([]);
    expect(
      methods.filter((m) => !RUNS_QUERIES[m] && querying.has(m)),
      'methods listed as not querying that ran one',
    ).toEqual([]);
    expect(new Set(recorded.map((q) => q.via))).toEqual(new Set(['get', 'listen', 'transaction']));
  });

  it('holds exactly the composite indexes the recorded queries need', () => {
    const inFile = new Map(
      file().indexes.map((index) => [indexKey({ ...index, queryScope: index.queryScope ?? 'COLLECTION' }), index]),
    );
    const missing = [...derived].filter(([key]) => !inFile.has(key));
    const extra = [...inFile.keys()].filter((key) => !derived.has(key));
    const report = [
      ...missing.map(([key, { queries }]) => `missing: ${key}\n    needed by ${[...queries].join('\n    needed by ')}`),
      ...extra.map((key) => `extra (no recorded query needs it): ${key}`),
    ];
    const wanted = [...derived.values()].map((d) => d.index).sort((a, b) => (indexKey(a) < indexKey(b) ? -1 : 1));
    expect(report, `the derived set is:\n${JSON.stringify(wanted, null, 2)}\n`).toEqual([]);
  });

  it('starts no index with created_at', () => {
    expect(
      file()
        .indexes.filter((index) => index.fields[0]?.fieldPath === 'created_at')
        .map(indexKey),
    ).toEqual([]);
  });

  it('exempts the ever-growing jobs fields no query needs a single-field index on, and no other field a query needs', () => {
    const overrides = file().fieldOverrides;
    const exempted = overrides.filter((o) => Array.isArray(o.indexes) && o.indexes.length === 0);
    const needs = (o: { collectionGroup: string; fieldPath: string }) =>
      singleFields.filter((s) => s.need.collectionGroup === o.collectionGroup && s.need.fieldPath === o.fieldPath);
    expect(exempted.flatMap((o) => needs(o).map((s) => `${o.collectionGroup}.${o.fieldPath}: ${s.query}`))).toEqual([]);
    const shouldExempt = MONOTONIC_FIELDS.filter((f) => needs(f).length === 0).map((f) => `${f.collectionGroup}.${f.fieldPath}`);
    expect(exempted.map((o) => `${o.collectionGroup}.${o.fieldPath}`).sort()).toEqual(shouldExempt.sort());
    expect(overrides.length, 'every override is an exemption').toBe(exempted.length);
  });
});

describe('the index rules', () => {
  const shape = (fields: Partial<QueryShape>): QueryShape => ({
    collectionGroup: 'jobs',
    queryScope: 'COLLECTION',
    filters: [],
    orders: [],
    aggregates: [],
    ...fields,
  });
  const fieldsOf = (q: QueryShape) => indexNeed(q).composite?.fields ?? null;

  it('serves equality filters alone, on any number of fields, by merged single-field indexes', () => {
    const q = shape({
      filters: [
        { field: 'user_id', op: 'EQUAL' },
        { field: 'job_type', op: 'IN' },
      ],
    });
    expect(indexNeed(q)).toEqual({
      composite: null,
      singleFields: [
        { collectionGroup: 'jobs', fieldPath: 'job_type', mode: 'ASCENDING' },
        { collectionGroup: 'jobs', fieldPath: 'user_id', mode: 'ASCENDING' },
      ],
    });
  });

  it('serves one range or one order on one field by its single-field index', () => {
    const q = shape({
      filters: [{ field: 'due_at', op: 'LESS_THAN_OR_EQUAL' }],
      orders: [{ field: 'due_at', direction: 'ASCENDING' }],
    });
    expect(indexNeed(q)).toEqual({
      composite: null,
      singleFields: [{ collectionGroup: 'jobs', fieldPath: 'due_at', mode: 'ASCENDING' }],
    });
    expect(indexNeed(shape({ orders: [{ field: 'created_at', direction: 'DESCENDING' }] })).composite).toBeNull();
  });

  it('puts equality fields sorted first, then the orders, leaving out __name__ when it follows the last direction', () => {
    const q = shape({
      filters: [
        { field: 'user_id', op: 'EQUAL' },
        { field: 'job_type', op: 'EQUAL' },
      ],
      orders: [{ field: 'created_at', direction: 'DESCENDING' }],
    });
    expect(fieldsOf(q)).toEqual([
      { fieldPath: 'job_type', order: 'ASCENDING' },
      { fieldPath: 'user_id', order: 'ASCENDING' },
      { fieldPath: 'created_at', order: 'DESCENDING' },
    ]);
    const mixed = shape({
      filters: [{ field: 'a', op: 'EQUAL' }],
      orders: [
        { field: 'b', direction: 'DESCENDING' },
        { field: '__name__', direction: 'ASCENDING' },
      ],
    });
    expect(fieldsOf(mixed)?.map((f) => f.fieldPath)).toEqual(['a', 'b', '__name__']);
  });

  it('orders range fields not ordered explicitly after the orders, and counts != and not-in as ranges', () => {
    const q = shape({
      filters: [
        { field: 'status', op: 'EQUAL' },
        { field: 'score', op: 'NOT_EQUAL' },
        { field: 'at', op: 'NOT_IN' },
      ],
    });
    expect(fieldsOf(q)).toEqual([
      { fieldPath: 'status', order: 'ASCENDING' },
      { fieldPath: 'at', order: 'ASCENDING' },
      { fieldPath: 'score', order: 'ASCENDING' },
    ]);
  });

  it('adds summed and averaged fields, and an array-contains field with its array config', () => {
    const q = shape({
      filters: [{ field: 'tags', op: 'ARRAY_CONTAINS' }],
      aggregates: [
        { kind: 'sum', field: 'gpu' },
        { kind: 'count', field: null },
      ],
    });
    expect(fieldsOf(q)).toEqual([
      { fieldPath: 'tags', arrayConfig: 'CONTAINS' },
      { fieldPath: 'gpu', order: 'ASCENDING' },
    ]);
  });
});
