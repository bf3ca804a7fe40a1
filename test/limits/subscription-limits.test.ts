import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  BatchProgressDocument,
  CliWatchBatchDocument,
  JobUpdatedDetailDocument,
  SubmitBatchDocument,
  ViewerRateLimitDocument,
} from '../../schema/__generated__/graphql.js';
import { OpenSubscriptions } from '../../src/server/limits/open-subscriptions.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface WsError {
  message: string;
  extensions?: Record<string, unknown>;
}

interface Opened {
  /** The first event, or the error that refused the subscription. */
  first: Promise<{ data?: unknown; errors?: readonly WsError[]; refused?: readonly WsError[] }>;
  /** Completes the subscription (graphql-ws `complete`). */
  stop: () => void;
}

/** Subscribes and settles on the first event or the refusal; the subscription stays open. */
function open(client: Client, query: string, variables: Record<string, unknown>): Opened {
  let stop!: () => void;
  const first = new Promise<Awaited<Opened['first']>>((resolve) => {
    stop = client.subscribe(
      { query, variables },
      {
        next: (result) => resolve({ data: result.data, errors: result.errors as WsError[] | undefined }),
        error: (error) => resolve({ refused: error as WsError[] }),
        complete: () => resolve({}),
      },
    );
  });
  return { first, stop };
}

async function submitBatch(server: TestServer): Promise<string> {
  const submitted = await server.request(SubmitBatchDocument, {
    input: { model: 'VINA', name: 'watched', protein: vinaProtein(), ligands: ligands(2) },
  });
  return submitted.data!.submitBatch.batch.id;
}

describe('the cost of subscription events', () => {
  let server: TestServer;
  let batchId: string;

  beforeAll(async () => {
    // No worker: the batch stays queued and its subscriptions open.
    server = await startTestServer({ OMTX_COST_POINTS_PER_HOUR: '1000', OMTX_MAX_QUERY_COST: '50' });
    batchId = await submitBatch(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const budgetUsed = async () => (await server.request(ViewerRateLimitDocument)).data!.viewer.rateLimit.used;

  it('refuses at subscribe a selection whose every event would run many pages, naming them, and spends nothing', async () => {
    const before = await budgetUsed();
    const query =
      'subscription ($id: ID!) { batchProgress(id: $id) { progress { total } changedJobs { batch { jobs(first: 100) { nodes { id } } } } } }';
    const { refused } = await open(server.wsClient(), query, { id: batchId }).first;
    expect(refused).toHaveLength(1);
    expect(refused![0]!.message).toMatch(
      /each event of this subscription would cost 5 points \(500 page requests\), over the maximum of 1/,
    );
    expect(refused![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      cost: { perEvent: 5, maximum: 1, requests: 500 },
      invalid: [
        {
          path: ['batchProgress', 'changedJobs', 'batch', 'jobs'],
          message: 'Batch.jobs: 500 requests of up to 100 items (5.0 of the points)',
        },
      ],
    });
    // Refused before it was paid for: only the budget read in between was spent.
    expect(await budgetUsed()).toBe(before + 1);
  });

  it('refuses Batch.export in a subscription, however cheap', async () => {
    const query =
      'subscription ($id: ID!) { batchProgress(id: $id) { progress { total } batch { export(format: CSV) { url } } } }';
    const { refused } = await open(server.wsClient(), query, { id: batchId }).first;
    expect(refused![0]!.message).toMatch(/Batch\.export cannot be selected in a subscription/);
    expect(refused![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      invalid: [{ path: ['batchProgress', 'batch', 'export'], message: 'Batch.export is not allowed in a subscription' }],
    });
    // The review's example: pages under every changed job and an export on every event.
    const both =
      'subscription ($id: ID!) { batchProgress(id: $id) { changedJobs { batch { jobs(first: 100) { nodes { id } } } } batch { export(format: CSV) { url } } } }';
    expect((await open(server.wsClient(), both, { id: batchId }).first).refused?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('keeps the selections clients subscribe with: progress, job states and results, one small page', async () => {
    const child = await server.request<{ batch: { jobs: { nodes: { id: string }[] } } }, { id: string }>(
      'query ($id: ID!) { batch(id: $id) { jobs(first: 1) { nodes { id } } } }',
      { id: batchId },
    );
    const jobId = child.data!.batch.jobs.nodes[0]!.id;
    const selections: [string, Record<string, unknown>][] = [
      [print(CliWatchBatchDocument), { id: batchId }],
      [print(BatchProgressDocument), { id: batchId }],
      [print(JobUpdatedDetailDocument), { id: jobId }],
      [
        'subscription ($id: ID!) { batchProgress(id: $id) { progress { total percent } changedJobs { id status result { affinity { value } } } } }',
        { id: batchId },
      ],
      // 1 request per event: within the default of 1 point.
      ['subscription ($id: ID!) { batchProgress(id: $id) { batch { jobs(first: 100) { nodes { id } } } } }', { id: batchId }],
    ];
    for (const [query, variables] of selections) {
      const subscription = open(server.wsClient(), query, variables);
      const first = await subscription.first;
      subscription.stop();
      expect(first.refused, query).toBeUndefined();
      expect(first.errors, query).toBeUndefined();
      expect(first.data, query).toBeTruthy();
    }
  });
});

describe('open subscriptions per user', () => {
  let server: TestServer;
  let batchId: string;

  beforeAll(async () => {
    server = await startTestServer({ OMTX_MAX_SUBSCRIPTIONS_PER_USER: '2' });
    batchId = await submitBatch(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const WATCH = print(CliWatchBatchDocument);

  it('refuses one more than OMTX_MAX_SUBSCRIPTIONS_PER_USER with RATE_LIMITED, on any socket, until one completes', async () => {
    const a = server.wsClient();
    const b = server.wsClient();
    const first = open(a, WATCH, { id: batchId });
    const second = open(b, WATCH, { id: batchId });
    expect((await first.first).data).toBeTruthy();
    expect((await second.first).data).toBeTruthy();

    const third = await open(b, WATCH, { id: batchId }).first;
    expect(third.refused?.[0]?.message).toMatch(/too many subscriptions: you have 2 open, at most 2 per user/);
    expect(third.refused?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 5 });
    // Queries on the same socket are not subscriptions: they still run.
    const query = await open(b, '{ models { name } }', {}).first;
    expect(query.errors).toBeUndefined();

    // The client completes one; the server handles that before the next message on the socket.
    first.stop();
    const again = open(a, WATCH, { id: batchId });
    expect((await again.first).data).toBeTruthy();
    again.stop();
    second.stop();
  });
});

describe('OpenSubscriptions', () => {
  it('counts what is still open, across contexts, and forgets what ended', () => {
    const running = new Map<object, Set<string>>();
    const open = new OpenSubscriptions<object>((ctx, id) => running.get(ctx)?.has(id) ?? false);
    const socketA = {};
    const socketB = {};
    running.set(socketA, new Set(['1', '2']));
    running.set(socketB, new Set(['1']));
    open.add('alice', socketA, '1');
    open.add('alice', socketA, '2');
    open.add('alice', socketB, '1');
    open.add('bob', {}, '1');
    expect(open.count('alice')).toBe(3);
    expect(open.count('carol')).toBe(0);
    // A subscription completes; a socket closes (graphql-ws empties its subscriptions).
    running.get(socketA)!.delete('2');
    expect(open.count('alice')).toBe(2);
    running.set(socketB, new Set());
    expect(open.count('alice')).toBe(1);
    // The id reused after completion counts once.
    open.add('alice', socketA, '1');
    expect(open.count('alice')).toBe(1);
  });
});
