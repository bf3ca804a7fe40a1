import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { fakeResult, startTestWorker, type TestWorker } from '../support/test-worker.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import type { Job } from '../../src/domain/job.js';
import {
  BatchDocument,
  BatchesDocument,
  BatchExportDocument,
  BatchJobsDocument,
  BatchSummaryTopDocument,
  CancelBatchDocument,
  JobDocument,
  JobsDocument,
  RetryFailedJobsDocument,
  SubmitBatchDocument,
  type BatchJobsQueryVariables,
  type BatchStatus,
  type SubmitBatchInput,
} from '../../schema/__generated__/graphql.js';

const SHARD_SIZE = 4;

/** The affinity the test worker gives the child at `index` (see fakeResult). */
const fakeAffinity = (index: number) => fakeResult({ batchIndex: index } as Job).affinity!.value;

const openGates: (() => void)[] = [];

/** A gate a handler can await; every gate opens after each test, so a failure blocks nothing. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  openGates.push(resolve);
  return { promise, resolve };
}

afterEach(() => openGates.splice(0).forEach((open) => open()));

describe('batch screens over HTTP', () => {
  let server: TestServer;
  let worker: TestWorker;
  const defaultHandler = async (job: Job) => ({ result: fakeResult(job) });

  beforeAll(async () => {
    worker = await startTestWorker(() => server.app.jobs);
    server = await startTestServer({ OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: String(SHARD_SIZE) });
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
  });
  afterEach(() => worker.setHandler(defaultHandler));

  async function submit(input: Partial<SubmitBatchInput> & { ligands: SubmitBatchInput['ligands'] }) {
    const { data, errors } = await server.request(SubmitBatchDocument, {
      input: { model: 'VINA', name: 'screen', protein: vinaProtein(), ...input },
    });
    expect(errors).toBeUndefined();
    return data!.submitBatch.batch;
  }

  async function batch(id: string) {
    const { data, errors } = await server.request(BatchDocument, { id });
    expect(errors).toBeUndefined();
    return data!.batch!;
  }

  async function waitForStatus(id: string, status: BatchStatus) {
    // vi.waitFor, not expect.poll: this also runs in beforeAll.
    return vi.waitFor(
      async () => {
        const current = await batch(id);
        if (current.status !== status) throw new Error(`batch ${id} is ${current.status}, waiting for ${status}`);
        return current;
      },
      { timeout: 20_000, interval: 50 },
    );
  }

  async function children(id: string, vars: Omit<BatchJobsQueryVariables, 'id'> = { first: 100 }) {
    const { data, errors } = await server.request(BatchJobsDocument, { id, ...vars });
    expect(errors).toBeUndefined();
    return data!.batch!.jobs;
  }

  /** Waits until the queue has answered every task (the worker is idle). */
  async function queueDrained() {
    await expect.poll(() => server.app.queue.depth(), { timeout: 20_000 }).toBe(0);
  }

  async function download(url: string) {
    const response = await fetch(url);
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  }

  describe('a 23-ligand screen the worker completes', () => {
    const N = 23;
    let id: string;
    const byAffinity = Array.from({ length: N }, (_, i) => i).sort((a, b) => fakeAffinity(a) - fakeAffinity(b));

    beforeAll(async () => {
      id = (await submit({ name: 'screen-23', ligands: ligands(N) })).id;
      await waitForStatus(id, 'COMPLETED');
    });

    it('ends COMPLETED with exact counters: all completed, 100 percent, no time left', async () => {
      const done = await batch(id);
      expect(done.progress).toEqual({
        total: N,
        pending: 0,
        queued: 0,
        running: 0,
        completed: N,
        failed: 0,
        cancelled: 0,
        percent: 100,
        etaSeconds: 0,
      });
      expect(done.completedAt).not.toBeNull();
    });

    it('dispatches the children in shards of at most the shard size, carrying job ids of one batch and never inputs', async () => {
      const ids = new Set((await children(id)).edges.map((e) => e.node.id));
      expect(ids.size).toBe(N);
      const tasks = worker.deliveries.filter((d) => d.payload.batchId === id);
      expect(new Set(tasks.map((t) => t.headers['x-cloudtasks-taskname'])).size).toBeGreaterThanOrEqual(
        Math.ceil(N / SHARD_SIZE),
      );
      const delivered = new Set<string>();
      for (const { payload } of tasks) {
        expect(Object.keys(payload).sort()).toEqual(['batchId', 'jobIds']);
        expect(payload.jobIds.length).toBeGreaterThan(0);
        expect(payload.jobIds.length).toBeLessThanOrEqual(SHARD_SIZE);
        for (const jobId of payload.jobIds) {
          expect(ids.has(jobId)).toBe(true);
          delivered.add(jobId);
        }
      }
      expect(delivered).toEqual(ids);
      // No other task carries one of these children.
      for (const d of worker.deliveries.filter((d) => d.payload.batchId !== id)) {
        expect(d.payload.jobIds.some((j) => ids.has(j))).toBe(false);
      }
    });

    it('lists children by index ascending and descending', async () => {
      const asc = (await children(id, { first: 100, orderBy: { field: 'INDEX', direction: 'ASC' } })).edges.map(
        (e) => e.node.batchIndex,
      );
      expect(asc).toEqual(Array.from({ length: N }, (_, i) => i));
      const desc = (await children(id, { first: 100, orderBy: { field: 'INDEX', direction: 'DESC' } })).edges.map(
        (e) => e.node.batchIndex,
      );
      expect(desc).toEqual([...asc].reverse());
      // Without orderBy the order is by index.
      expect((await children(id)).edges.map((e) => e.node.batchIndex)).toEqual(asc);
    });

    it('ranks children by affinity the way the fake results rank them', async () => {
      const asc = (await children(id, { first: 100, orderBy: { field: 'AFFINITY', direction: 'ASC' } })).edges.map((e) => e.node);
      expect(asc.map((j) => j.batchIndex)).toEqual(byAffinity);
      expect(asc.map((j) => j.result!.affinity!.value)).toEqual(byAffinity.map(fakeAffinity));
      const desc = (await children(id, { first: 100, orderBy: { field: 'AFFINITY', direction: 'DESC' } })).edges.map(
        (e) => e.node.batchIndex,
      );
      expect(desc).toEqual([...byAffinity].reverse());
    });

    it('filters children by status', async () => {
      expect((await children(id, { first: 100, filter: { status: 'COMPLETED' } })).edges).toHaveLength(N);
      expect((await children(id, { first: 100, filter: { status: 'FAILED' } })).edges).toHaveLength(0);
      expect((await children(id, { first: 100, filter: { status: 'RUNNING' } })).edges).toHaveLength(0);
    });

    it('pages forward with first: 5 and backward with last: 5 through every child, without repeats or omissions', async () => {
      for (const orderBy of [undefined, { field: 'AFFINITY' as const, direction: 'ASC' as const }]) {
        const expected = orderBy ? byAffinity : Array.from({ length: N }, (_, i) => i);

        const forward: number[] = [];
        let after: string | null = null;
        let pages = 0;
        for (;;) {
          const page = await children(id, { first: 5, after, orderBy });
          expect(page.edges.length).toBeLessThanOrEqual(5);
          forward.push(...page.edges.map((e) => e.node.batchIndex!));
          if (pages === 0) expect(page.pageInfo.hasPreviousPage).toBe(false);
          pages++;
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
          expect(pages).toBeLessThan(10);
        }
        expect(forward).toEqual(expected);
        expect(pages).toBe(Math.ceil(N / 5));

        const backward: number[][] = [];
        let before: string | null = null;
        for (;;) {
          const page = await children(id, { last: 5, before, orderBy });
          expect(page.edges.length).toBeLessThanOrEqual(5);
          backward.unshift(page.edges.map((e) => e.node.batchIndex!));
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor;
          expect(backward.length).toBeLessThan(10);
        }
        expect(backward.flat()).toEqual(expected);
        expect(backward).toHaveLength(Math.ceil(N / 5));
      }
    });

    it('summarizes the best and mean affinity and the top three children', async () => {
      const { data, errors } = await server.request(BatchSummaryTopDocument, { id, n: 3 });
      expect(errors).toBeUndefined();
      const summary = data!.batch!.summary;
      const values = Array.from({ length: N }, (_, i) => fakeAffinity(i));
      expect(summary.unit).toBe('KCAL_PER_MOL');
      expect(summary.scored).toBe(N);
      expect(summary.counts).toEqual({ total: N, completed: N, failed: 0 });
      expect(summary.bestAffinity).toBeCloseTo(Math.min(...values), 9);
      expect(summary.meanAffinity).toBeCloseTo(values.reduce((a, b) => a + b, 0) / N, 9);
      expect(summary.top.map((j) => j.batchIndex)).toEqual(byAffinity.slice(0, 3));
      expect(summary.top.map((j) => j.result!.affinity!.value)).toEqual(byAffinity.slice(0, 3).map(fakeAffinity));
    });

    it('exports ranked results as CSV that downloads over HTTP', async () => {
      const { data, errors } = await server.request(BatchExportDocument, { id, format: 'CSV' });
      expect(errors).toBeUndefined();
      const artifact = data!.batch!.export!;
      expect(artifact.name).toBe('batch_results.csv');
      const file = await download(artifact.url);
      expect(file.status).toBe(200);
      expect(file.type).toMatch(/^text\/csv/);
      expect(Buffer.byteLength(file.text)).toBe(artifact.sizeBytes);
      const [header, ...rows] = file.text.trimEnd().split('\n');
      expect(header).toBe('rank,index,name,input_smiles,canonical_smiles,affinity,unit,confidence,status,error');
      expect(rows).toHaveLength(N);
      const cells = rows.map((r) => r.split(','));
      expect(cells.map((c) => Number(c[0]))).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(cells.map((c) => Number(c[1]))).toEqual(byAffinity);
      expect(cells.map((c) => c[2])).toEqual(byAffinity.map((i) => `L${i}`));
      expect(cells.map((c) => Number(c[5]))).toEqual(byAffinity.map(fakeAffinity));
      expect(new Set(cells.map((c) => c[6]))).toEqual(new Set(['KCAL_PER_MOL']));
      expect(new Set(cells.map((c) => c[8]))).toEqual(new Set(['COMPLETED']));
    });

    it('exports ranked results as JSON that downloads over HTTP', async () => {
      const { data } = await server.request(BatchExportDocument, { id, format: 'JSON' });
      const artifact = data!.batch!.export!;
      expect(artifact.contentType).toMatch(/^application\/json/);
      const file = await download(artifact.url);
      expect(file.status).toBe(200);
      const body = JSON.parse(file.text) as {
        batch: { id: string; status: string; unit: string };
        results: { rank: number | null; index: number; name: string; status: string; affinity: { value: number } | null }[];
      };
      expect(body.batch).toMatchObject({ id, status: 'COMPLETED', unit: 'KCAL_PER_MOL' });
      expect(body.results.map((r) => r.rank)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(body.results.map((r) => r.index)).toEqual(byAffinity);
      expect(body.results.map((r) => r.affinity!.value)).toEqual(byAffinity.map(fakeAffinity));
    });

    it('returns the same export file for a second request while the batch is unchanged', async () => {
      const first = (await server.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
      const path = join(server.dataDir, 'blobs', 'objects', 'batches', id, 'batch_results.csv');
      const before = statSync(path);
      const second = (await server.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
      const after = statSync(path);
      expect(second).toMatchObject({ name: first.name, sizeBytes: first.sizeBytes, contentType: first.contentType });
      expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
      expect((await download(second.url)).text).toBe((await download(first.url)).text);
    });

    it('refuses an export URL whose signature was altered with 403', async () => {
      const { url } = (await server.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
      const signed = new URL(url);
      const signature = signed.searchParams.get('signature')!;
      signed.searchParams.set('signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
      expect((await download(signed.href)).status).toBe(403);
      signed.searchParams.delete('signature');
      expect((await download(signed.href)).status).toBe(403);
    });

    it('keeps batch children out of the default jobs list but lists them by batchId or kind', async () => {
      const childIds = new Set((await children(id)).edges.map((e) => e.node.id));
      const mine = (await server.request(JobsDocument, { first: 100 })).data!.jobs.edges.map((e) => e.node);
      expect(mine.some((j) => childIds.has(j.id))).toBe(false);
      expect(mine.every((j) => j.kind === 'INDIVIDUAL')).toBe(true);

      const byBatch = (await server.request(JobsDocument, { first: 100, filter: { batchId: id } })).data!.jobs.edges.map(
        (e) => e.node,
      );
      expect(new Set(byBatch.map((j) => j.id))).toEqual(childIds);
      expect(byBatch.every((j) => j.kind === 'BATCH_CHILD')).toBe(true);

      const byKind = (await server.request(JobsDocument, { first: 100, filter: { kind: 'BATCH_CHILD' } })).data!.jobs.edges.map(
        (e) => e.node.id,
      );
      for (const childId of childIds) expect(byKind).toContain(childId);
    });
  });

  it('cancels a running batch: unfinished children end CANCELLED, counts stay exact, a second cancel is a CONFLICT', async () => {
    const gate = deferred();
    worker.setHandler(async (job) => {
      // The first two children of each shard-0 run complete; every later one is held RUNNING.
      if (job.name?.startsWith('cancel-') && job.batchIndex! >= 2) await gate.promise;
      return { result: fakeResult(job) };
    });
    const input = ligands(10).map((l, i) => ({ ...l, name: `cancel-${i}` }));
    const { id } = await submit({ name: 'to-cancel', ligands: input });
    // Shards [0-3] and [4-7] run (two dispatches at once): 0 and 1 complete, 2 and 4 are held.
    await expect
      .poll(async () => (await batch(id)).progress, { timeout: 10_000 })
      .toMatchObject({ completed: 2, running: 2, queued: 6 });

    const cancelled = await server.request(CancelBatchDocument, { id });
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelBatch.status).toBe('CANCELLED');
    const exact = {
      total: 10,
      pending: 0,
      queued: 0,
      running: 0,
      completed: 2,
      failed: 0,
      cancelled: 8,
      percent: 100,
      etaSeconds: 0,
    };
    expect(cancelled.data!.cancelBatch.progress).toEqual(exact);

    // The held attempts finish after the cancel; their results must not count.
    gate.resolve();
    await queueDrained();
    const after = await batch(id);
    expect(after.status).toBe('CANCELLED');
    expect(after.progress).toEqual(exact);
    expect(after.completedAt).not.toBeNull();
    const byStatus = async (status: 'CANCELLED' | 'COMPLETED') =>
      (await children(id, { first: 100, filter: { status } })).edges.map((e) => e.node.batchIndex);
    expect(await byStatus('COMPLETED')).toEqual([0, 1]);
    expect(await byStatus('CANCELLED')).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);

    const again = await server.request(CancelBatchDocument, { id });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await batch(id)).progress).toEqual(exact);
  });

  it('retries failed children: they go QUEUED again, then complete; with nothing failed a retry is a CONFLICT', async () => {
    const failedOnce = new Set<number>();
    worker.setHandler(async (job, attempt) => {
      if (job.name?.startsWith('flaky-') && job.batchIndex! % 3 === 0 && attempt === 1) {
        failedOnce.add(job.batchIndex!);
        return { error: `ligand ${job.batchIndex} could not be prepared` };
      }
      return { result: fakeResult(job) };
    });
    const { id } = await submit({ name: 'flaky', ligands: ligands(9).map((l, i) => ({ ...l, name: `flaky-${i}` })) });
    const ended = await waitForStatus(id, 'COMPLETED');
    expect(ended.progress).toMatchObject({ total: 9, completed: 6, failed: 3, cancelled: 0, percent: 100, etaSeconds: 0 });
    expect(failedOnce).toEqual(new Set([0, 3, 6]));
    const failed = (await children(id, { first: 100, filter: { status: 'FAILED' } })).edges.map((e) => e.node);
    expect(failed.map((j) => j.batchIndex)).toEqual([0, 3, 6]);
    expect(ended.summary.scored).toBe(6);

    // By affinity the failed children (no affinity) come last, by index; paging crosses that seam.
    const ranked = [1, 2, 4, 5, 7, 8].sort((a, b) => fakeAffinity(a) - fakeAffinity(b));
    const orderBy = { field: 'AFFINITY' as const, direction: 'ASC' as const };
    expect((await children(id, { first: 100, orderBy })).edges.map((e) => e.node.batchIndex)).toEqual([...ranked, 0, 3, 6]);
    const forward: number[] = [];
    for (let after: string | null = null, more = true; more;) {
      const page = await children(id, { first: 2, after, orderBy });
      forward.push(...page.edges.map((e) => e.node.batchIndex!));
      ({ hasNextPage: more, endCursor: after } = page.pageInfo);
    }
    expect(forward).toEqual([...ranked, 0, 3, 6]);
    const backward: number[] = [];
    for (let before: string | null = null, more = true; more;) {
      const page = await children(id, { last: 2, before, orderBy });
      backward.unshift(...page.edges.map((e) => e.node.batchIndex!));
      ({ hasPreviousPage: more, startCursor: before } = page.pageInfo);
    }
    expect(backward).toEqual([...ranked, 0, 3, 6]);

    // The export lists the failed children after the ranked ones, without a rank.
    const exportBefore = (await server.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
    const rowsBefore = (await download(exportBefore.url)).text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((r) => r.split(','));
    expect(rowsBefore.slice(6).map((c) => [c[0], c[1], c[8]])).toEqual([
      ['', '0', 'FAILED'],
      ['', '3', 'FAILED'],
      ['', '6', 'FAILED'],
    ]);

    const retried = await server.request(RetryFailedJobsDocument, { batchId: id });
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.retryFailedJobs.status).toBe('RUNNING');
    expect(retried.data!.retryFailedJobs.progress).toMatchObject({ total: 9, completed: 6, failed: 0, queued: 3, running: 0 });

    const done = await waitForStatus(id, 'COMPLETED');
    expect(done.progress).toEqual({
      total: 9,
      pending: 0,
      queued: 0,
      running: 0,
      completed: 9,
      failed: 0,
      cancelled: 0,
      percent: 100,
      etaSeconds: 0,
    });
    expect(done.summary.scored).toBe(9);
    for (const job of failed) {
      const again = (await server.request(JobDocument, { id: job.id })).data!.job!;
      expect(again).toMatchObject({ status: 'COMPLETED', attempts: 2, error: null });
      expect(again.result!.affinity!.value).toBe(fakeAffinity(job.batchIndex!));
    }

    // The batch changed, so the export is made again: now every child is ranked.
    const exportAfter = (await server.request(BatchExportDocument, { id, format: 'CSV' })).data!.batch!.export!;
    const rowsAfter = (await download(exportAfter.url)).text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((r) => r.split(','));
    expect(rowsAfter.map((c) => Number(c[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(rowsAfter.map((c) => c[8]))).toEqual(new Set(['COMPLETED']));

    const nothing = await server.request(RetryFailedJobsDocument, { batchId: id });
    expect(nothing.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('returns the first batch for a repeated idempotency key and creates nothing more', async () => {
    const input = { name: 'idempotent-screen', ligands: ligands(3), idempotencyKey: 'batch-key-1' };
    const first = await submit(input);
    const second = await submit(input);
    expect(second.id).toBe(first.id);
    const all = (await server.request(BatchesDocument, { first: 100 })).data!.batches.edges.filter(
      (e) => e.node.name === 'idempotent-screen',
    );
    expect(all).toHaveLength(1);
    const childIds = (await server.request(JobsDocument, { first: 100, filter: { batchId: first.id } })).data!.jobs.edges;
    expect(childIds).toHaveLength(3);
  });
});

describe('a batch with maxConcurrent', () => {
  let server: TestServer;
  let worker: TestWorker;
  beforeAll(async () => {
    worker = await startTestWorker(() => server.app.jobs);
    // One ligand per task and six dispatches at once, so only maxConcurrent can hold them back.
    server = await startTestServer({ OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '1', OMTX_DISPATCH_CONCURRENCY: '6' });
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
  });

  it('never runs more than maxConcurrent children at once, and still finishes them all', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let maxRunning = 0;
    const gate = deferred();
    worker.setHandler(async (job) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const [parent] = await server.app.jobs.getBatches([job.batchId!]);
      maxRunning = Math.max(maxRunning, parent!.counts.running);
      await gate.promise;
      inFlight--;
      return { result: fakeResult(job) };
    });
    const submitted = await server.request(SubmitBatchDocument, {
      input: { model: 'VINA', name: 'throttled', protein: vinaProtein(), ligands: ligands(6), maxConcurrent: 2 },
    });
    expect(submitted.errors).toBeUndefined();
    const id = submitted.data!.submitBatch.batch.id;

    // Two children are held RUNNING and at least one more delivery was turned away.
    await expect.poll(() => inFlight === 2 && worker.throttled() > 0, { timeout: 10_000 }).toBe(true);
    const { data } = await server.request(BatchDocument, { id });
    expect(data!.batch!.progress).toMatchObject({ running: 2, queued: 4 });
    gate.resolve();

    await expect
      .poll(async () => (await server.request(BatchDocument, { id })).data!.batch!.status, { timeout: 25_000 })
      .toBe('COMPLETED');
    const done = (await server.request(BatchDocument, { id })).data!.batch!;
    expect(done.progress).toMatchObject({ total: 6, completed: 6, running: 0, queued: 0 });
    expect(maxInFlight).toBe(2);
    expect(maxRunning).toBeLessThanOrEqual(2);
  });
});
