import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import {
  CancelBatchDocument,
  ModelNamesDocument,
  NestedBatchPagesDocument,
  SubmitBatchDocument,
  ViewerRateLimitDocument,
} from '../../schema/__generated__/graphql.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import { startTestServer, type GraphqlResponse, type TestServer } from '../support/server.js';

interface Cost {
  requested: number;
  remaining: number;
  resetAt: string;
}

/** `extensions.cost` of an HTTP answer (the test server's helper keeps only data and errors). */
async function post(server: TestServer, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Pick<GraphqlResponse<unknown>, 'data' | 'errors'> & { extensions?: { cost?: Cost } };
  return { status: response.status, headers: response.headers, ...body };
}

interface WsResult {
  data?: unknown;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
  extensions?: { cost?: Cost };
}

/** Every result of one operation over graphql-ws, until it completes or errors. */
function wsRun(client: Client, query: string, variables?: Record<string, unknown>, onNext?: (r: WsResult) => void) {
  return new Promise<{ results: WsResult[]; error?: unknown }>((resolve) => {
    const results: WsResult[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (r) => {
          results.push(r as WsResult);
          onNext?.(r as WsResult);
        },
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  });
}

const NESTED =
  'query { batches(first: 100) { nodes { jobs(first: 100) { nodes { batch { jobs(first: 100) { nodes { id } } } } } } } }';

describe('query cost over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ OMTX_MAX_QUERY_COST: '50', OMTX_COST_POINTS_PER_HOUR: '1000' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports extensions.cost { requested, remaining, resetAt } on every response, parse errors included', async () => {
    const first = await post(server, '{ models { name } }');
    expect(first.extensions?.cost).toMatchObject({ requested: 1, remaining: 999 });
    expect(Date.parse(first.extensions!.cost!.resetAt)).toBeGreaterThan(Date.now() + 3_500_000);
    const paged = await post(server, 'query { batches(first: 100) { nodes { jobs(first: 100) { nodes { id } } } } }');
    expect(paged.extensions?.cost).toMatchObject({ requested: 2, remaining: 997, resetAt: first.extensions!.cost!.resetAt });
    const broken = await post(server, '{ models { name }');
    expect(broken.status).toBe(400);
    expect(broken.extensions?.cost).toMatchObject({ requested: 0, remaining: 997 });
  });

  it('shows the budget in viewer.rateLimit, this operation paid for', async () => {
    const before = (await post(server, '{ viewer { id } }')).extensions!.cost!;
    const answer = await server.request(ViewerRateLimitDocument);
    expect(answer.data?.viewer.rateLimit).toEqual({
      limit: 1000,
      cost: 1,
      used: 1000 - before.remaining + 1,
      remaining: before.remaining - 1,
      resetAt: before.resetAt,
    });
  });

  it('refuses an operation over OMTX_MAX_QUERY_COST before it runs, naming what costs what', async () => {
    const before = (await post(server, '{ viewer { id } }')).extensions!.cost!;
    const refused = await post(server, NESTED);
    expect(refused.status).toBe(400);
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toHaveLength(1);
    const error = refused.errors![0]!;
    expect(error.message).toMatch(/would cost 102 points, over the maximum of 50/);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', cost: { requested: 102, maximum: 50, requests: 10_101 } });
    expect((error.extensions!.invalid as { path: string[]; message: string }[])[0]).toEqual({
      path: ['batches', 'nodes', 'jobs', 'nodes', 'batch', 'jobs'],
      message: 'Batch.jobs: 10000 requests of up to 100 items (101.0 of the points)',
    });
    // Refused before anything ran: nothing was spent.
    expect(refused.extensions?.cost).toMatchObject({ requested: 102, remaining: before.remaining });
    // The same shape with smaller pages fits.
    const small = await server.request(NestedBatchPagesDocument, { outer: 10, inner: 10 });
    expect(small.errors).toBeUndefined();
  });

  it('weighs each Batch.export at 10 requests under every batch of the page', async () => {
    const exports = (n: number) =>
      `{ batches(first: 100) { nodes { ${Array.from({ length: n }, (_, i) => `e${i}: export(format: CSV) { url }`).join(' ')} } } }`;
    // 1 + 3 × 100 × 10 requests
    const three = await post(server, exports(3));
    expect(three.errors).toBeUndefined();
    expect(three.extensions?.cost).toMatchObject({ requested: 31 });
    const six = await post(server, exports(6));
    expect(six.status).toBe(400);
    expect(six.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', cost: { requested: 61, requests: 6_001 } });
    expect((six.errors![0]!.extensions!.invalid as { message: string }[])[0]!.message).toBe(
      'Batch.export: 100 calls of 10 requests each (10.2 of the points)',
    );
  });

  it('refuses a document over OMTX_MAX_TOKENS as a syntax error', async () => {
    const query = `{ ${Array.from({ length: 30_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const refused = await post(server, query);
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(refused.errors?.[0]?.message).toMatch(/more tha. 50000 tokens/);
  });
});

describe('the points budget', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ OMTX_COST_POINTS_PER_HOUR: '5', OMTX_COST_WINDOW_SECONDS: '2' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers an operation over the remaining budget with 429 RATE_LIMITED, spends nothing, and recovers at resetAt', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await post(server, '{ batches(first: 100) { nodes { jobs(first: 100) { nodes { id } } } } }'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers.map((a) => a.extensions?.cost?.remaining)).toEqual([3, 1, 1]);
    const refused = answers[2]!;
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.errors?.[0]?.message).toMatch(/costs 2 points and 1 of 5 remain/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBe(refused.errors?.[0]?.extensions?.retryAfterSeconds);
    // A cheaper operation still fits.
    expect((await server.request(ModelNamesDocument)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(refused.extensions!.cost!.resetAt) - Date.now() + 50));
    const again = await post(server, '{ models { name } }');
    expect(again.status).toBe(200);
    expect(again.extensions?.cost).toMatchObject({ requested: 1, remaining: 4 });
  });
});

describe('query cost over WebSocket', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ OMTX_MAX_QUERY_COST: '50', OMTX_COST_POINTS_PER_HOUR: '1000', OMTX_MAX_TOKENS: '200' });
  });
  afterAll(async () => {
    await server.close();
  });

  const budgetUsed = async () => (await server.request(ViewerRateLimitDocument)).data!.viewer.rateLimit.used;

  it('charges a subscription once, at subscribe, and reports the cost on its first event only', async () => {
    const submitted = await server.request(SubmitBatchDocument, {
      input: { model: 'VINA', name: 'watched', protein: vinaProtein(), ligands: ligands(3) },
    });
    const id = submitted.data!.submitBatch.batch.id;
    const before = await budgetUsed(); // this read included
    const client = server.wsClient();
    let cancelled = false;
    const run = wsRun(
      client,
      'subscription ($id: ID!) { batchProgress(id: $id) { progress { total } changedJobs { id } b: batch { jobs(first: 10) { nodes { id } } } c: batch { jobs(first: 10) { nodes { id } } } } }',
      { id },
      () => {
        if (cancelled) return;
        cancelled = true;
        void server.request(CancelBatchDocument, { id });
      },
    );
    const { results, error } = await run;
    expect(error).toBeUndefined();
    expect(results.length).toBeGreaterThanOrEqual(2);
    // Two pages per event, 2 requests: 1 point, paid once (events are bounded instead, see
    // subscription-limits.test.ts).
    expect(results[0]!.extensions?.cost).toMatchObject({ requested: 1 });
    expect(results.slice(1).every((r) => r.extensions?.cost === undefined)).toBe(true);
    // 1 for the subscription, 1 for cancelBatch, 1 for this read; the events were free.
    expect(await budgetUsed()).toBe(before + 1 + 1 + 1);
  });

  it('refuses a costly operation and a document over the token limit before it runs', async () => {
    const client = server.wsClient();
    const costly = await wsRun(client, NESTED);
    expect(costly.results).toEqual([]);
    expect((costly.error as WsResult['errors'])?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      cost: { requested: 102 },
    });
    const long = await wsRun(client, `{ ${'__typename '.repeat(300)}}`);
    expect((long.error as WsResult['errors'])?.[0]?.message).toMatch(/more tha. 200 tokens/);
    // The socket is still open and serving.
    const fine = await wsRun(client, '{ models { name } }');
    expect(fine.results[0]?.errors).toBeUndefined();
    expect(fine.results[0]?.extensions?.cost).toMatchObject({ requested: 1 });
  });
});
