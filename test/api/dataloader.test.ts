import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTestWorker, type TestWorker } from '../support/test-worker.js';
import { countingStore } from '../support/counting-store.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import type { JobStore } from '../../src/ports/job-store.js';
import {
  BatchChildrenByFilterDeepDocument,
  BatchChildrenDeepDocument,
  BatchDocument,
  SubmitBatchDocument,
} from '../../schema/__generated__/graphql.js';

describe('reads through per-request DataLoaders', () => {
  let server: TestServer;
  let worker: TestWorker;
  let realStore: JobStore;
  const batches: Record<number, string> = {};

  beforeAll(async () => {
    worker = await startTestWorker(() => server.app.jobs);
    server = await startTestServer({ OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '25' });
    realStore = server.app.jobs;
    for (const size of [10, 100]) {
      const { data, errors } = await server.request(SubmitBatchDocument, {
        input: { model: 'VINA', name: `loader-${size}`, protein: vinaProtein(), ligands: ligands(size) },
      });
      expect(errors).toBeUndefined();
      batches[size] = data!.submitBatch.batch.id;
    }
    for (const id of Object.values(batches)) {
      await vi.waitFor(
        async () => {
          const status = (await server.request(BatchDocument, { id })).data?.batch?.status;
          if (status !== 'COMPLETED') throw new Error(`batch ${id} is ${status}`);
        },
        { timeout: 30_000, interval: 50 },
      );
    }
  });
  afterEach(() => {
    server.app.jobs = realStore;
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
  });

  /** Runs `fn` with the app's store counted; every call still reaches the real store. */
  async function storeCalls(fn: () => Promise<void>): Promise<string[]> {
    const counting = countingStore(realStore);
    server.app.jobs = counting.store;
    try {
      await fn();
    } finally {
      server.app.jobs = realStore;
    }
    return [...counting.calls];
  }

  it('reads a page of 100 children with their batch, protein and result in as many store calls as a page of 10', async () => {
    const calls: Record<number, string[]> = {};
    for (const size of [10, 100]) {
      calls[size] = await storeCalls(async () => {
        const { data, errors } = await server.request(BatchChildrenDeepDocument, { id: batches[size]!, first: 100 });
        expect(errors).toBeUndefined();
        const edges = data!.batch!.jobs.edges;
        expect(edges).toHaveLength(size);
        for (const { node } of edges) {
          expect(node.batch!.name).toBe(`loader-${size}`);
          expect(node.protein.name).toBe('1IEP');
          expect(node.result!.affinity!.value).toBeLessThan(0);
        }
      });
    }
    // The page itself, and the batch once (its children's batch and protein come from the loader).
    expect(calls[10]).toContain('listBatchJobs');
    expect(calls[100]).toEqual(calls[10]);
    expect(calls[100]!.length).toBeLessThanOrEqual(3);
  });

  it('reads children listed by jobs(filter: {batchId}) with their batch and protein in constant store calls', async () => {
    const calls: Record<number, string[]> = {};
    for (const size of [10, 100]) {
      calls[size] = await storeCalls(async () => {
        const { data, errors } = await server.request(BatchChildrenByFilterDeepDocument, { batchId: batches[size]!, first: 100 });
        expect(errors).toBeUndefined();
        const edges = data!.jobs.edges;
        expect(edges).toHaveLength(size);
        for (const { node } of edges) {
          expect(node.batch!.name).toBe(`loader-${size}`);
          expect(node.protein.name).toBe('1IEP');
        }
      });
    }
    expect(calls[10]).toEqual(['listJobs', 'getBatches']);
    expect(calls[100]).toEqual(calls[10]);
  });

  it('gives each request its own loader cache, so a second request reads the store again', async () => {
    const first = await storeCalls(async () => {
      await server.request(BatchDocument, { id: batches[10]! });
    });
    const second = await storeCalls(async () => {
      await server.request(BatchDocument, { id: batches[10]! });
    });
    expect(first).toContain('getBatches');
    expect(second).toEqual(first);
  });
});
