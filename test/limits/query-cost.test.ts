import { beforeAll, describe, expect, it } from 'vitest';
import { getOperationAST, parse, type GraphQLSchema } from 'graphql';
import { buildApiSchema } from '../../resolvers/schema.js';
import { costlyFields, eventCost, fragmentsOf, operationCost } from '../../src/server/limits/query-cost.js';

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildApiSchema();
});

const cost = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  return operationCost(schema, getOperationAST(document)!, fragmentsOf(document), variables);
};

describe('query cost (GitHub-like: page requests ÷ 100, rounded up, at least 1)', () => {
  it('costs 1 point for an operation without pages', () => {
    expect(cost('{ models { name } viewer { id } }')).toMatchObject({ requests: 0, points: 1, fields: [] });
    expect(cost('mutation { cancelJob(id: "x") { id } }').points).toBe(1);
  });

  it('counts one request per connection at the top, whatever its size', () => {
    expect(cost('{ jobs(first: 100) { nodes { id } } batches { nodes { id } } }')).toMatchObject({ requests: 2, points: 1 });
  });

  it('multiplies nested connections by the page sizes above them', () => {
    const query =
      '{ batches(first: 100) { nodes { jobs(first: 50) { edges { node { batch { jobs(last: 10) { nodes { id } } } } } } } } }';
    const c = cost(query);
    // 1 (batches) + 100 (Batch.jobs, once per batch) + 100 × 50 (the inner Batch.jobs)
    expect(c.requests).toBe(5_101);
    expect(c.points).toBe(52);
    expect(c.fields[0]).toEqual({
      path: ['batches', 'nodes', 'jobs', 'edges', 'node', 'batch', 'jobs'],
      coordinate: 'Batch.jobs',
      calls: 5_000,
      requests: 5_000,
      pageSize: 10,
    });
  });

  it('reads sizes from variables, counts 20 when no size is given, and 100 when a size cannot be read', () => {
    const query = 'query Q($n: Int) { batches(first: $n) { nodes { jobs { nodes { id } } } } }';
    expect(cost(query, { n: 7 }).requests).toBe(8);
    expect(cost('{ batches { nodes { jobs { nodes { id } } } } }').requests).toBe(21);
    expect(cost(query, { n: 'seven' }).requests).toBe(101);
    expect(cost('{ batches(first: 5000) { nodes { jobs { nodes { id } } } } }').requests).toBe(101);
  });

  it('counts BatchSummary.top(n) as a page of n, and follows fragments and aliases', () => {
    const query = `
      query { b: batch(id: "x") { ...S } }
      fragment S on Batch { summary { top(n: 30) { batch { ... on Batch { children: jobs(first: 10) { nodes { id } } } } } } }`;
    const c = cost(query);
    // 30 top jobs × 1 page each, the top list itself, and the summary's weight of 10
    expect(c.requests).toBe(41);
    expect(c.fields.map((f) => f.path.join('.')).sort()).toEqual(['b.summary', 'b.summary.top', 'b.summary.top.batch.children']);
  });

  it('counts a subscription once, with changedJobs at its bound of 500', () => {
    const c = cost('subscription { batchProgress(id: "x") { changedJobs { batch { jobs(first: 2) { nodes { id } } } } } }');
    expect(c.requests).toBe(500);
    expect(c.points).toBe(5);
  });

  it('weighs Batch.export at 10 requests a call, multiplied by the pages above it', () => {
    const c = cost(
      '{ batches(first: 100) { nodes { a: export(format: CSV) { url } b: export(format: JSON) { url } c: export(format: SDF) { url } } } }',
    );
    // 1 (batches) + 3 exports × 100 batches × 10
    expect(c.requests).toBe(3_001);
    expect(c.points).toBe(31);
    expect(c.fields[0]).toEqual({
      path: ['batches', 'nodes', 'a'],
      coordinate: 'Batch.export',
      calls: 100,
      requests: 1_000,
      pageSize: null,
    });
    expect(costlyFields(c)[0]!.message).toBe('Batch.export: 100 calls of 10 requests each (10.3 of the points)');
    expect(cost('{ batch(id: "x") { export(format: CSV) { url } } }').requests).toBe(10);
  });

  it('weighs Batch.summary at 10 requests a call: under the changed jobs of an event it is 500 aggregates', () => {
    expect(cost('{ batch(id: "x") { summary { scored } } }').requests).toBe(10);
    const perEvent = eventCost(cost('subscription { batchProgress(id: "x") { changedJobs { batch { summary { scored } } } } }'));
    expect(perEvent).toMatchObject({ requests: 5_000, points: 50 });
    expect(eventCost(cost('subscription { batchProgress(id: "x") { batch { summary { scored } } } }')).requests).toBe(10);
  });

  it("costs a subscription's event by its selection below the root field", () => {
    const costly = cost(
      'subscription { batchProgress(id: "x") { changedJobs { batch { jobs(first: 100) { nodes { id } } } } batch { jobs { nodes { id } } } } }',
    );
    const perEvent = eventCost(costly);
    // 500 changed jobs × one Batch.jobs each, + the batch's own page
    expect(perEvent).toMatchObject({ requests: 501, points: 6 });
    expect(perEvent.fields.map((f) => f.path.join('.'))).toEqual([
      'batchProgress.changedJobs.batch.jobs',
      'batchProgress.batch.jobs',
    ]);
    const common = cost(
      'subscription { batchProgress(id: "x") { progress { total } changedJobs { id status result { affinity { value } } } } }',
    );
    expect(eventCost(common)).toMatchObject({ requests: 0, points: 1 });
  });
});
