import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Batch, Job, JobError, JobStatus, StatusCounts, Usage } from '../domain/job.js';
import { countKey, emptyCounts, noUsage } from '../domain/job.js';
import { batchStatusFrom, isTerminal } from '../domain/status.js';
import { ConflictError, InvalidCursorError, NotFoundError } from '../domain/errors.js';
import type { ChangeFeed } from './change-feed.js';
import type { BatchJobFilter, BatchJobOrder, JobStore } from './job-store.js';
import type { Page, PageRequest } from './page.js';
import { at, buildBatch, buildJob, buildLigand, buildResult, newId } from './testing/records.js';
import { describeQuotaContract } from './job-store.quotas.contract.js';

/** One store and its change feed on fresh, empty storage; `close` releases both. */
export interface StoreHarness {
  store: JobStore;
  feed: ChangeFeed;
  close(): Promise<void>;
}

export interface JobStoreContractOptions {
  /**
   * Steps of the random-operations test; an adapter behind a slow emulator may lower it.
   * @default 300
   */
  randomSteps?: number;
}

/** Lease of every claim in these suites. */
export const LEASE_MS = 60_000;

const TRANSIENT: JobError = { code: 'WORKER.UNAVAILABLE', message: 'GPU not ready', retryable: true };
const BAD_INPUT: JobError = { code: 'INPUT.INVALID', message: 'ligand has no heavy atoms', retryable: false };

/** `seconds` on an L4 instance ($0.0002907 a second), in the store's whole units. */
function l4Usage(seconds: number): Usage {
  return { runtimeMs: seconds * 1000, gpuMs: seconds * 1000, costNanoUsd: seconds * 290_700 };
}

export async function getJob(store: JobStore, id: string): Promise<Job> {
  const [job] = await store.getJobs([id]);
  if (!job) throw new Error(`expected job ${id} in the store, found none`);
  return job;
}

export async function getBatch(store: JobStore, id: string): Promise<Batch> {
  const [batch] = await store.getBatches([id]);
  if (!batch) throw new Error(`expected batch ${id} in the store, found none`);
  return batch;
}

/** Claims a job that must be claimable and returns the attempt. */
export async function claimOk(store: JobStore, id: string, now: Date): Promise<number> {
  const outcome = await store.claim(id, now, LEASE_MS);
  if (!outcome.claimed) throw new Error(`expected to claim ${id}, was refused: ${outcome.reason}`);
  return outcome.attempt;
}

/** Queues, claims and completes (or fails) one job at `now`. */
async function finish(
  store: JobStore,
  id: string,
  now: Date,
  how: 'complete' | 'fail',
  affinity: number | null = -1,
): Promise<Job> {
  await store.markQueued([id], now);
  const attempt = await claimOk(store, id, now);
  const done =
    how === 'complete'
      ? await store.complete(id, attempt, buildResult({ affinity, confidence: affinity === null ? null : 0.5 }), now)
      : await store.fail(id, attempt, BAD_INPUT, now);
  if (!done) throw new Error(`expected attempt ${attempt} of ${id} to ${how}`);
  return done;
}

async function createBatchOf(store: JobStore, size: number, overrides: Partial<Batch> = {}) {
  const built = buildBatch(size, overrides);
  const { created } = await store.createBatch(built.batch, built.children);
  expect(created).toBe(true);
  return built;
}

/** Every page of a listing, read forward `size` at a time. */
async function walkForward<T>(
  read: (req: PageRequest) => Promise<Page<T>>,
  size: number,
): Promise<{ nodes: T[]; pages: Page<T>[] }> {
  const nodes: T[] = [];
  const pages: Page<T>[] = [];
  let after: string | null = null;
  for (;;) {
    const page: Page<T> = await read({ first: size, after });
    pages.push(page);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.hasNextPage) return { nodes, pages };
    if (pages.length > 10_000) throw new Error('paging forward never ended');
    const last = page.edges[page.edges.length - 1];
    if (!last) throw new Error('a page with hasNextPage has no edges');
    after = last.cursor;
  }
}

/** Every page of a listing, read backward `size` at a time, returned in list order. */
async function walkBackward<T>(
  read: (req: PageRequest) => Promise<Page<T>>,
  size: number,
): Promise<{ nodes: T[]; pages: Page<T>[] }> {
  let nodes: T[] = [];
  const pages: Page<T>[] = [];
  let before: string | null = null;
  for (;;) {
    const page: Page<T> = await read({ last: size, before });
    pages.push(page);
    nodes = [...page.edges.map((e) => e.node), ...nodes];
    if (!page.hasPreviousPage) return { nodes, pages };
    if (pages.length > 10_000) throw new Error('paging backward never ended');
    const first = page.edges[0];
    if (!first) throw new Error('a page with hasPreviousPage has no edges');
    before = first.cursor;
  }
}

/** Checks the flags and sizes of a full forward and backward walk over `total` items. */
function expectWalkFlags<T>(forward: Page<T>[], backward: Page<T>[], total: number, size: number): void {
  const pageCount = Math.ceil(total / size);
  expect(forward).toHaveLength(pageCount);
  expect(backward).toHaveLength(pageCount);
  forward.forEach((page, i) => {
    expect(page.edges.length, `forward page ${i}`).toBe(i < pageCount - 1 ? size : total - size * (pageCount - 1));
    expect(page.hasPreviousPage, `forward page ${i} hasPreviousPage`).toBe(i > 0);
    expect(page.hasNextPage, `forward page ${i} hasNextPage`).toBe(i < pageCount - 1);
  });
  backward.forEach((page, i) => {
    expect(page.edges.length, `backward page ${i}`).toBe(i < pageCount - 1 ? size : total - size * (pageCount - 1));
    expect(page.hasNextPage, `backward page ${i} hasNextPage`).toBe(i > 0);
    expect(page.hasPreviousPage, `backward page ${i} hasPreviousPage`).toBe(i < pageCount - 1);
  });
}

const INDEX_ASC: BatchJobOrder = { field: 'INDEX', direction: 'ASC' };

async function allBatchJobs(store: JobStore, batchId: string, filter: BatchJobFilter = {}, order = INDEX_ASC): Promise<Job[]> {
  return (await walkForward((req) => store.listBatchJobs(batchId, filter, order, req), 100)).nodes;
}

function tally(jobs: Job[]): StatusCounts {
  const counts = emptyCounts();
  for (const job of jobs) counts[countKey(job.status)] += 1;
  return counts;
}

function sum(counts: StatusCounts): number {
  return counts.pending + counts.queued + counts.running + counts.completed + counts.failed + counts.cancelled;
}

const newestFirst = (a: Job, b: Job): number =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** A small deterministic PRNG (mulberry32), so a failing random run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The JobStore contract: every adapter passes it through the port alone. `makeHarness`
 * gives fresh, empty storage for each test.
 */
export function describeJobStoreContract(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  options: JobStoreContractOptions = {},
): void {
  describe(`JobStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: JobStore;

    beforeEach(async () => {
      harness = await makeHarness();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    describeQuotaContract(() => store);

    describe('records', () => {
      it('returns an individual job exactly as it was created, every field and date included', async () => {
        const job = buildJob({
          name: 'with everything',
          ligand: buildLigand({ structure: { format: 'SDF', content: 'mol\n  RDKit\n\n  1  0  0\nM  END\n$$$$\n' } }),
          createdAt: at(1),
          updatedAt: at(2),
          idempotencyKey: 'submit-1',
          model: 'VINA',
        });
        const { job: stored, created } = await store.createJob(job);
        expect(created).toBe(true);
        expect(stored).toEqual(job);
        expect(await store.getJobs([job.id])).toEqual([job]);
      });

      it('answers null in place of each id it does not hold', async () => {
        const job = buildJob();
        await store.createJob(job);
        expect(await store.getJobs(['missing-1', job.id, 'missing-2'])).toEqual([null, job, null]);
        expect(await store.getBatches(['missing-batch'])).toEqual([null]);
        expect(await store.getJobs([])).toEqual([]);
      });

      it('returns a batch and its children exactly as they were created, the children without a protein', async () => {
        const { batch, children } = await createBatchOf(store, 3, {
          maxConcurrent: 2,
          idempotencyKey: 'screen-1',
          createdAt: at(5),
          updatedAt: at(5),
        });
        expect(await getBatch(store, batch.id)).toEqual(batch);
        const stored = await store.getJobs(children.map((c) => c.id));
        expect(stored).toEqual(children);
        for (const child of stored) {
          expect(child?.protein).toBeNull();
          expect(child?.kind).toBe('BATCH_CHILD');
        }
      });

      it('keeps the organization and whether the record is shared with it, on a job, a batch and its children', async () => {
        const privateJob = buildJob({ organizationId: 'lab-a', sharedWithOrganization: false });
        const sharedJob = buildJob({ organizationId: 'lab-a', sharedWithOrganization: true });
        const noOrg = buildJob({ organizationId: null, sharedWithOrganization: false });
        for (const job of [privateJob, sharedJob, noOrg]) await store.createJob(job);
        expect(await store.getJobs([privateJob.id, sharedJob.id, noOrg.id])).toEqual([privateJob, sharedJob, noOrg]);
        const { batch, children } = await createBatchOf(store, 2, { organizationId: 'lab-b', sharedWithOrganization: true });
        expect(await getBatch(store, batch.id)).toMatchObject({ organizationId: 'lab-b', sharedWithOrganization: true });
        for (const child of await store.getJobs(children.map((c) => c.id))) {
          expect(child).toMatchObject({ organizationId: 'lab-b', sharedWithOrganization: true });
        }
        // A change of state keeps both.
        await store.cancelBatch(batch.owner, batch.id, at(10));
        expect(await getBatch(store, batch.id)).toMatchObject({ organizationId: 'lab-b', sharedWithOrganization: true });
      });

      it('keeps a result and an error with all their nested fields', async () => {
        const good = buildJob();
        const bad = buildJob();
        await store.createJob(good);
        await store.createJob(bad);
        await store.markQueued([good.id, bad.id], at(10));
        const goodAttempt = await claimOk(store, good.id, at(20));
        const badAttempt = await claimOk(store, bad.id, at(20));
        const result = buildResult({ affinity: -2.5, confidence: 0.91 });

        const completed = await store.complete(good.id, goodAttempt, result, at(30));
        const failed = await store.fail(bad.id, badAttempt, BAD_INPUT, at(40));

        expect(completed).toMatchObject({
          status: 'COMPLETED',
          result,
          error: null,
          leaseExpiresAt: null,
          completedAt: at(30),
          startedAt: at(20),
        });
        expect(await getJob(store, good.id)).toEqual(completed);
        expect(failed).toMatchObject({ status: 'FAILED', error: BAD_INPUT, leaseExpiresAt: null, completedAt: at(40) });
        expect(await getJob(store, bad.id)).toEqual(failed);
      });
    });

    describe('idempotency', () => {
      it('returns the first job for a repeated idempotency key and stores nothing new', async () => {
        const first = buildJob({ idempotencyKey: 'once' });
        const again = buildJob({ idempotencyKey: 'once', name: 'a second submission' });
        await store.createJob(first);

        const answer = await store.createJob(again);

        expect(answer).toEqual({ job: first, created: false });
        expect(await store.getJobs([again.id])).toEqual([null]);
        const listed = await store.listJobs('alice', {}, { first: 10 });
        expect(listed.edges.map((e) => e.node.id)).toEqual([first.id]);
      });

      it('keeps idempotency keys apart per owner', async () => {
        await store.createJob(buildJob({ idempotencyKey: 'shared' }));
        const bobs = buildJob({ owner: 'bob', idempotencyKey: 'shared' });
        expect(await store.createJob(bobs)).toEqual({ job: bobs, created: true });
      });

      it('returns the first batch for a repeated idempotency key and stores neither the batch nor its children', async () => {
        const first = await createBatchOf(store, 2, { idempotencyKey: 'screen' });
        const again = buildBatch(3, { idempotencyKey: 'screen' });

        const answer = await store.createBatch(again.batch, again.children);

        expect(answer).toEqual({ batch: first.batch, created: false });
        expect(await store.getBatches([again.batch.id])).toEqual([null]);
        expect(await store.getJobs(again.children.map((c) => c.id))).toEqual([null, null, null]);
        const listed = await store.listBatches('alice', {}, { first: 10 });
        expect(listed.edges.map((e) => e.node.id)).toEqual([first.batch.id]);
      });
    });

    describe('batches and counters', () => {
      it('creates a batch with all its children at once, every child counted as pending', async () => {
        const { batch, children } = await createBatchOf(store, 5);
        const stored = await getBatch(store, batch.id);
        expect(stored.status).toBe('PENDING');
        expect(stored.counts).toEqual({ ...emptyCounts(), pending: 5 });
        const listed = await allBatchJobs(store, batch.id);
        expect(listed.map((j) => j.id)).toEqual(children.map((c) => c.id));
        expect(tally(listed)).toEqual(stored.counts);
      });

      it('moves counters from pending to queued when children are marked queued, and leaves other statuses alone', async () => {
        const { batch, children } = await createBatchOf(store, 5);
        const [c0, c1, c2] = children.map((c) => c.id) as [string, string, string];
        await store.markQueued([c0, c1], at(10));
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), pending: 3, queued: 2 });

        await claimOk(store, c0, at(20));
        await store.markQueued([c0, c2], at(30));

        expect((await getJob(store, c0)).status).toBe('RUNNING');
        expect((await getJob(store, c2)).status).toBe('QUEUED');
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), pending: 2, queued: 2, running: 1 });
      });

      it('completes a batch: RUNNING once a child starts, COMPLETED when every child is done', async () => {
        const { batch, children } = await createBatchOf(store, 3);
        const ids = children.map((c) => c.id);
        await store.markQueued(ids, at(10));
        const attempt = await claimOk(store, ids[0]!, at(20));
        expect(await getBatch(store, batch.id)).toMatchObject({ status: 'RUNNING', startedAt: at(20), completedAt: null });

        await store.complete(ids[0]!, attempt, buildResult(), at(30));
        expect(await getBatch(store, batch.id)).toMatchObject({
          status: 'RUNNING',
          counts: { ...emptyCounts(), queued: 2, completed: 1 },
        });

        await finish(store, ids[1]!, at(40), 'complete');
        await finish(store, ids[2]!, at(50), 'complete');
        expect(await getBatch(store, batch.id)).toMatchObject({
          status: 'COMPLETED',
          counts: { ...emptyCounts(), completed: 3 },
          startedAt: at(20),
          completedAt: at(50),
        });
      });

      it('ends a batch FAILED when no child completed', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        await finish(store, children[0]!.id, at(10), 'fail');
        expect((await getBatch(store, batch.id)).status).toBe('RUNNING');
        await finish(store, children[1]!.id, at(20), 'fail');
        expect(await getBatch(store, batch.id)).toMatchObject({
          status: 'FAILED',
          counts: { ...emptyCounts(), failed: 2 },
          completedAt: at(20),
        });
      });

      it('ends a batch COMPLETED when some children completed and the rest failed', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        await finish(store, children[0]!.id, at(10), 'fail');
        await finish(store, children[1]!.id, at(20), 'complete');
        expect(await getBatch(store, batch.id)).toMatchObject({
          status: 'COMPLETED',
          counts: { ...emptyCounts(), failed: 1, completed: 1 },
        });
      });

      it('keeps the best (lowest) and the mean affinity of the completed children', async () => {
        const { batch, children } = await createBatchOf(store, 5);
        expect(await store.batchStats(batch.id)).toEqual({ withAffinity: 0, bestAffinity: null, meanAffinity: null });

        await finish(store, children[0]!.id, at(10), 'complete', -2);
        await finish(store, children[1]!.id, at(10), 'complete', -0.5);
        await finish(store, children[2]!.id, at(10), 'complete', null);
        await finish(store, children[3]!.id, at(10), 'complete', 1);
        await finish(store, children[4]!.id, at(10), 'fail');

        const stats = await store.batchStats(batch.id);
        expect(stats.withAffinity).toBe(3);
        expect(stats.bestAffinity).toBe(-2);
        expect(stats.meanAffinity).toBeCloseTo(-0.5, 10);
      });

      it('throttles a child whose batch already runs maxConcurrent children', async () => {
        const { batch, children } = await createBatchOf(store, 3, { maxConcurrent: 2 });
        const [c0, c1, c2] = children.map((c) => c.id) as [string, string, string];
        await store.markQueued([c0, c1, c2], at(0));
        const a0 = await claimOk(store, c0, at(10));
        await claimOk(store, c1, at(10));

        const refused = await store.claim(c2, at(20), LEASE_MS);

        expect(refused).toMatchObject({ claimed: false, reason: 'THROTTLED' });
        expect((await getJob(store, c2)).status).toBe('QUEUED');
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), queued: 1, running: 2 });

        // Taking over an expired lease does not add a running child, so it is not throttled.
        expect(await store.claim(c1, at(10 + LEASE_MS + 1), LEASE_MS)).toMatchObject({ claimed: true, attempt: 2 });

        await store.complete(c0, a0, buildResult(), at(30));
        expect(await store.claim(c2, at(40), LEASE_MS)).toMatchObject({ claimed: true, attempt: 1 });
      });
    });

    describe('claims and attempts', () => {
      it('claims a queued job: RUNNING, attempt 1, a lease from now', async () => {
        const job = buildJob();
        await store.createJob(job);
        await store.markQueued([job.id], at(5));

        const outcome = await store.claim(job.id, at(1000), LEASE_MS);

        expect(outcome).toMatchObject({ claimed: true, attempt: 1 });
        expect(outcome.job).toMatchObject({
          status: 'RUNNING',
          attempts: 1,
          leaseExpiresAt: at(1000 + LEASE_MS),
          startedAt: at(1000),
        });
        expect(await getJob(store, job.id)).toEqual(outcome.job);
      });

      it('claims a job still PENDING whose task arrived before it was marked queued', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        const id = children[0]!.id;
        expect(await store.claim(id, at(10), LEASE_MS)).toMatchObject({ claimed: true, attempt: 1 });
        await store.markQueued([id], at(20));
        expect((await getJob(store, id)).status).toBe('RUNNING');
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), pending: 1, running: 1 });
      });

      it('refuses a second claim while the lease is live (LEASED)', async () => {
        const job = buildJob();
        await store.createJob(job);
        await store.markQueued([job.id], at(0));
        await claimOk(store, job.id, at(0));

        const second = await store.claim(job.id, at(LEASE_MS - 1), LEASE_MS);

        expect(second).toMatchObject({ claimed: false, reason: 'LEASED' });
        expect(await getJob(store, job.id)).toMatchObject({ status: 'RUNNING', attempts: 1, leaseExpiresAt: at(LEASE_MS) });
      });

      it('lets a claim take over a job whose lease expired, as attempt 2, and only attempt 2 may finish it', async () => {
        const { batch, children } = await createBatchOf(store, 1);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        await claimOk(store, id, at(0));
        const later = at(LEASE_MS + 1);

        const takeover = await store.claim(id, later, LEASE_MS);

        expect(takeover).toMatchObject({ claimed: true, attempt: 2 });
        expect(await getJob(store, id)).toMatchObject({
          status: 'RUNNING',
          attempts: 2,
          leaseExpiresAt: at(LEASE_MS + 1 + LEASE_MS),
        });
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), running: 1 });
        expect(await store.complete(id, 1, buildResult(), later)).toBeNull();
        expect(await store.complete(id, 2, buildResult(), later)).toMatchObject({ status: 'COMPLETED' });
      });

      it('says why a job cannot be claimed: NOT_FOUND, FINISHED or CANCELLED', async () => {
        const done = buildJob();
        const failed = buildJob();
        const cancelled = buildJob();
        for (const job of [done, failed, cancelled]) await store.createJob(job);
        await finish(store, done.id, at(10), 'complete');
        await finish(store, failed.id, at(10), 'fail');
        await store.cancelJob('alice', cancelled.id, at(10));

        expect(await store.claim('no-such-job', at(20), LEASE_MS)).toEqual({ claimed: false, reason: 'NOT_FOUND', job: null });
        expect(await store.claim(done.id, at(20), LEASE_MS)).toMatchObject({
          claimed: false,
          reason: 'FINISHED',
          job: { id: done.id },
        });
        expect(await store.claim(failed.id, at(20), LEASE_MS)).toMatchObject({
          claimed: false,
          reason: 'FINISHED',
          job: { id: failed.id },
        });
        expect(await store.claim(cancelled.id, at(20), LEASE_MS)).toMatchObject({
          claimed: false,
          reason: 'CANCELLED',
          job: { id: cancelled.id },
        });
      });

      it('ignores every write of a stale attempt and changes nothing', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        await claimOk(store, id, at(0));
        await claimOk(store, id, at(LEASE_MS + 1));
        const jobBefore = await getJob(store, id);
        const batchBefore = await getBatch(store, batch.id);
        const statsBefore = await store.batchStats(batch.id);

        expect(await store.complete(id, 1, buildResult(), at(LEASE_MS + 2), l4Usage(10))).toBeNull();
        expect(await store.fail(id, 1, BAD_INPUT, at(LEASE_MS + 3), l4Usage(10))).toBeNull();
        expect(await store.release(id, 1, TRANSIENT, at(LEASE_MS + 4), l4Usage(10))).toBeNull();
        expect(await store.renewLease(id, 1, at(LEASE_MS + 5), LEASE_MS)).toBe(false);
        expect(await store.complete(id, 3, buildResult(), at(LEASE_MS + 6), l4Usage(10))).toBeNull();

        expect(await getJob(store, id)).toEqual(jobBefore);
        expect(await getBatch(store, batch.id)).toEqual(batchBefore);
        expect(await store.batchStats(batch.id)).toEqual(statsBefore);
      });

      it('answers null to complete, fail and release of a job that is not running', async () => {
        const job = buildJob();
        await store.createJob(job);
        await store.markQueued([job.id], at(0));
        expect(await store.complete(job.id, 0, buildResult(), at(1))).toBeNull();
        expect(await store.fail(job.id, 1, BAD_INPUT, at(1))).toBeNull();
        expect(await store.release(job.id, 1, TRANSIENT, at(1))).toBeNull();
        expect(await store.complete('no-such-job', 1, buildResult(), at(1))).toBeNull();
        expect((await getJob(store, job.id)).status).toBe('QUEUED');
      });

      it('fails a job for good with its error', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        const attempt = await claimOk(store, id, at(0));

        const failed = await store.fail(id, attempt, BAD_INPUT, at(5));

        expect(failed).toMatchObject({
          status: 'FAILED',
          error: BAD_INPUT,
          leaseExpiresAt: null,
          completedAt: at(5),
          attempts: 1,
        });
        expect(await store.claim(id, at(LEASE_MS * 2), LEASE_MS)).toMatchObject({ claimed: false, reason: 'FINISHED' });
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), pending: 1, failed: 1 });
      });

      it('releases a job after a transient fault: QUEUED with the error, claimable at once as the next attempt', async () => {
        const { batch, children } = await createBatchOf(store, 1);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        const attempt = await claimOk(store, id, at(0));

        const released = await store.release(id, attempt, TRANSIENT, at(5));

        expect(released).toMatchObject({ status: 'QUEUED', error: TRANSIENT, leaseExpiresAt: null, attempts: 1 });
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), queued: 1 });
        expect(await store.claim(id, at(6), LEASE_MS)).toMatchObject({ claimed: true, attempt: 2 });
        expect(await store.complete(id, 2, buildResult(), at(7))).toMatchObject({ status: 'COMPLETED', error: null });
      });

      it('extends the lease of the attempt that holds it', async () => {
        const job = buildJob();
        await store.createJob(job);
        await store.markQueued([job.id], at(0));
        const attempt = await claimOk(store, job.id, at(0));

        expect(await store.renewLease(job.id, attempt, at(30_000), LEASE_MS)).toBe(true);

        expect((await getJob(store, job.id)).leaseExpiresAt).toEqual(at(30_000 + LEASE_MS));
        expect(await store.claim(job.id, at(LEASE_MS + 1), LEASE_MS)).toMatchObject({ claimed: false, reason: 'LEASED' });
        expect(await store.requeueExpired(at(LEASE_MS + 1), 10)).toEqual([]);
      });

      it('continues the attempt count after a retry, so a worker of an earlier attempt cannot finish the new one', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        await claimOk(store, id, at(0)); // attempt 1: its worker hangs and its lease expires
        await store.requeueExpired(at(LEASE_MS + 1), 10);
        const second = await claimOk(store, id, at(LEASE_MS + 2));
        await store.fail(id, second, BAD_INPUT, at(LEASE_MS + 3));
        await store.retryFailed('alice', batch.id, at(LEASE_MS + 4));

        const third = await claimOk(store, id, at(LEASE_MS + 5));

        expect(third).toBeGreaterThan(second);
        // The worker of attempt 1 wakes up: it holds nothing.
        expect(await store.complete(id, 1, buildResult(), at(LEASE_MS + 6))).toBeNull();
        // …and the attempt budget starts again from the retry.
        expect(await getJob(store, id)).toMatchObject({ status: 'RUNNING', attempts: third, attemptsBeforeRetry: second });
      });
    });

    describe('usage', () => {
      it('starts a job with no usage and a batch with zero sums', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        expect((await getJob(store, children[0]!.id)).usage).toBeNull();
        expect((await getBatch(store, batch.id)).usage).toEqual(noUsage());
      });

      it("records an attempt's usage on the job and adds it to the batch's sums with the status change", async () => {
        const { batch, children } = await createBatchOf(store, 2);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        const attempt = await claimOk(store, id, at(0));

        const done = await store.complete(id, attempt, buildResult(), at(50_000), l4Usage(50));

        expect(done).toMatchObject({ status: 'COMPLETED', usage: l4Usage(50) });
        expect(await getJob(store, id)).toEqual(done);
        const stored = await getBatch(store, batch.id);
        expect(stored.usage).toEqual({ runtimeMs: 50_000, gpuMs: 50_000, costNanoUsd: 14_535_000 });
        expect(stored.counts).toMatchObject({ completed: 1, pending: 1 });
      });

      it('sums usage over every attempt: a released one, a failed one, and the one after a retry', async () => {
        const { batch, children } = await createBatchOf(store, 3);
        const id = children[1]!.id;
        await store.markQueued([id], at(0));
        const first = await claimOk(store, id, at(0));
        await store.release(id, first, TRANSIENT, at(1), l4Usage(7));
        const second = await claimOk(store, id, at(2));
        await store.fail(id, second, BAD_INPUT, at(3), l4Usage(11));
        await store.retryFailed('alice', batch.id, at(4));
        const third = await claimOk(store, id, at(5));
        expect((await getJob(store, id)).usage).toEqual(l4Usage(18));

        await store.complete(id, third, buildResult(), at(6), l4Usage(13));

        expect((await getJob(store, id)).usage).toEqual(l4Usage(31));
        expect((await getBatch(store, batch.id)).usage).toEqual(l4Usage(31));
      });

      it("keeps an individual job's usage, with no batch to add to", async () => {
        const job = buildJob();
        await store.createJob(job);
        await store.markQueued([job.id], at(0));
        const attempt = await claimOk(store, job.id, at(0));
        const cpu = { runtimeMs: 2_813, gpuMs: 0, costNanoUsd: 233_479 };
        expect(await store.fail(job.id, attempt, BAD_INPUT, at(1), cpu)).toMatchObject({ status: 'FAILED', usage: cpu });
      });

      it('keeps the batch sums exact after hundreds of completions with uneven usage', async () => {
        const size = 240;
        const random = prng(4242);
        const { batch, children } = await createBatchOf(store, size);
        await store.markQueued(
          children.map((c) => c.id),
          at(0),
        );
        const expected = noUsage();
        for (const [i, child] of children.entries()) {
          const attempt = await claimOk(store, child.id, at(i));
          // Uneven whole units, as the worker's rounding produces them.
          const runtimeMs = 40_000 + Math.floor(random() * 20_000);
          const usage = { runtimeMs, gpuMs: runtimeMs, costNanoUsd: Math.round(runtimeMs * 290.7) };
          expected.runtimeMs += usage.runtimeMs;
          expected.gpuMs += usage.gpuMs;
          expected.costNanoUsd += usage.costNanoUsd;
          await store.complete(child.id, attempt, buildResult(), at(i), usage);
        }
        const stored = await getBatch(store, batch.id);
        expect(stored.status).toBe('COMPLETED');
        expect(stored.usage).toEqual(expected);
        const listed = await allBatchJobs(store, batch.id);
        expect(listed.reduce((total, j) => total + j.usage!.costNanoUsd, 0)).toBe(stored.usage.costNanoUsd);
      });

      it('leaves usage alone when a write brings none', async () => {
        const { batch, children } = await createBatchOf(store, 1);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        const first = await claimOk(store, id, at(0));
        await store.release(id, first, TRANSIENT, at(1), l4Usage(3));
        const second = await claimOk(store, id, at(2));
        await store.complete(id, second, buildResult(), at(3));
        expect((await getJob(store, id)).usage).toEqual(l4Usage(3));
        expect((await getBatch(store, batch.id)).usage).toEqual(l4Usage(3));
      });

      it('refuses a fractional or negative usage with a RangeError and writes nothing', async () => {
        const { batch, children } = await createBatchOf(store, 1);
        const id = children[0]!.id;
        await store.markQueued([id], at(0));
        const attempt = await claimOk(store, id, at(0));
        const before = await getJob(store, id);

        await expect(
          store.complete(id, attempt, buildResult(), at(1), { runtimeMs: 1.5, gpuMs: 0, costNanoUsd: 0 }),
        ).rejects.toBeInstanceOf(RangeError);
        await expect(
          store.fail(id, attempt, BAD_INPUT, at(1), { runtimeMs: 1, gpuMs: -1, costNanoUsd: 0 }),
        ).rejects.toBeInstanceOf(RangeError);

        expect(await getJob(store, id)).toEqual(before);
        expect((await getBatch(store, batch.id)).usage).toEqual(noUsage());
      });
    });

    describe('recovery', () => {
      it('returns jobs whose lease expired to QUEUED with a retryable LEASE_EXPIRED error', async () => {
        const { batch, children } = await createBatchOf(store, 3);
        const [expired, renewed, waiting] = children.map((c) => c.id) as [string, string, string];
        await store.markQueued([expired, renewed, waiting], at(0));
        await claimOk(store, expired, at(0));
        const renewedAttempt = await claimOk(store, renewed, at(0));
        await store.renewLease(renewed, renewedAttempt, at(30_000), LEASE_MS);

        const requeued = await store.requeueExpired(at(LEASE_MS + 1), 10);

        expect(requeued.map((j) => j.id)).toEqual([expired]);
        const job = await getJob(store, expired);
        expect(job).toMatchObject({ status: 'QUEUED', leaseExpiresAt: null, attempts: 1 });
        expect(job.error).toMatchObject({ code: 'LEASE_EXPIRED', retryable: true });
        expect(requeued[0]).toEqual(job);
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), queued: 2, running: 1 });
        expect(await store.claim(expired, at(LEASE_MS + 2), LEASE_MS)).toMatchObject({ claimed: true, attempt: 2 });
        expect(await store.complete(expired, 1, buildResult(), at(LEASE_MS + 3))).toBeNull();
      });

      it('re-queues at most `limit` expired jobs per call', async () => {
        const jobs = [buildJob(), buildJob(), buildJob()];
        for (const job of jobs) await store.createJob(job);
        await store.markQueued(
          jobs.map((j) => j.id),
          at(0),
        );
        for (const job of jobs) await claimOk(store, job.id, at(0));

        const first = await store.requeueExpired(at(LEASE_MS + 1), 2);
        const rest = await store.requeueExpired(at(LEASE_MS + 1), 2);

        expect(first).toHaveLength(2);
        expect(rest).toHaveLength(1);
        expect(new Set([...first, ...rest].map((j) => j.id))).toEqual(new Set(jobs.map((j) => j.id)));
        expect(await store.requeueExpired(at(LEASE_MS + 1), 2)).toEqual([]);
      });

      it('lists jobs left PENDING since before a time', async () => {
        const old = buildJob({ createdAt: at(0) });
        const queued = buildJob({ createdAt: at(0) });
        const lessOld = buildJob({ createdAt: at(1000) });
        const recent = buildJob({ createdAt: at(5000) });
        for (const job of [old, queued, lessOld, recent]) await store.createJob(job);
        await store.markQueued([queued.id], at(100));

        const stale = await store.listStalePending(at(2000), 10);

        expect(new Set(stale.map((j) => j.id))).toEqual(new Set([old.id, lessOld.id]));
        expect(stale.find((j) => j.id === old.id)).toEqual(old);
        const limited = await store.listStalePending(at(2000), 1);
        expect(limited).toHaveLength(1);
        expect([old.id, lessOld.id]).toContain(limited[0]!.id);
      });

      it('lists jobs QUEUED and unchanged since before a time', async () => {
        const waiting = buildJob({ createdAt: at(0) });
        const fresh = buildJob({ createdAt: at(0) });
        const running = buildJob({ createdAt: at(0) });
        for (const job of [waiting, fresh, running]) await store.createJob(job);
        await store.markQueued([waiting.id, running.id], at(100));
        await store.markQueued([fresh.id], at(5000));
        await claimOk(store, running.id, at(200));

        const lost = await store.listStaleQueued(at(2000), 10);

        expect(lost.map((j) => j.id)).toEqual([waiting.id]);
      });
    });

    describe('cancel and retry', () => {
      it('cancels a pending, a queued and a running job', async () => {
        const [pending, queued, running] = [buildJob(), buildJob(), buildJob()];
        for (const job of [pending, queued, running]) await store.createJob(job);
        await store.markQueued([queued.id, running.id], at(0));
        const attempt = await claimOk(store, running.id, at(0));

        for (const job of [pending, queued, running]) {
          expect(await store.cancelJob('alice', job.id, at(10))).toMatchObject({
            id: job.id,
            status: 'CANCELLED',
            completedAt: at(10),
            leaseExpiresAt: null,
          });
          expect((await getJob(store, job.id)).status).toBe('CANCELLED');
        }
        // The worker of the cancelled attempt finds it holds nothing any more.
        expect(await store.complete(running.id, attempt, buildResult(), at(20))).toBeNull();
      });

      it('refuses to cancel a finished job with a ConflictError and leaves it as it was', async () => {
        const [done, failed, cancelled] = [buildJob(), buildJob(), buildJob()];
        for (const job of [done, failed, cancelled]) await store.createJob(job);
        await finish(store, done.id, at(0), 'complete');
        await finish(store, failed.id, at(0), 'fail');
        await store.cancelJob('alice', cancelled.id, at(0));

        for (const job of [done, failed, cancelled]) {
          const before = await getJob(store, job.id);
          await expect(store.cancelJob('alice', job.id, at(10))).rejects.toBeInstanceOf(ConflictError);
          expect(await getJob(store, job.id)).toEqual(before);
        }
      });

      it("answers NotFoundError for another owner's job or batch, and for unknown ids, and changes nothing", async () => {
        const job = buildJob();
        await store.createJob(job);
        const { batch, children } = await createBatchOf(store, 2);
        await finish(store, children[0]!.id, at(0), 'fail');
        const batchBefore = await getBatch(store, batch.id);

        await expect(store.cancelJob('bob', job.id, at(10))).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.cancelJob('alice', 'no-such-job', at(10))).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.cancelBatch('bob', batch.id, at(10))).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.cancelBatch('alice', 'no-such-batch', at(10))).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.retryFailed('bob', batch.id, at(10))).rejects.toBeInstanceOf(NotFoundError);

        expect(await getJob(store, job.id)).toEqual(job);
        expect(await getBatch(store, batch.id)).toEqual(batchBefore);
      });

      it('moves the batch counters when one child is cancelled', async () => {
        const { batch, children } = await createBatchOf(store, 3);
        await store.cancelJob('alice', children[1]!.id, at(10));
        expect((await getBatch(store, batch.id)).counts).toEqual({ ...emptyCounts(), pending: 2, cancelled: 1 });
      });

      it('cancels a batch: unfinished children end CANCELLED, finished ones keep their status, the counts stay exact', async () => {
        const { batch, children } = await createBatchOf(store, 6);
        const ids = children.map((c) => c.id);
        await finish(store, ids[0]!, at(0), 'complete');
        await finish(store, ids[1]!, at(0), 'fail');
        await store.markQueued([ids[2]!, ids[3]!], at(0));
        const runningAttempt = await claimOk(store, ids[2]!, at(0));

        const cancelled = await store.cancelBatch('alice', batch.id, at(10));

        expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelRequested: true, completedAt: at(10), total: 6 });
        expect(cancelled.counts).toEqual({ ...emptyCounts(), completed: 1, failed: 1, cancelled: 4 });
        expect(sum(cancelled.counts)).toBe(cancelled.total);
        expect(await getBatch(store, batch.id)).toEqual(cancelled);
        const listed = await allBatchJobs(store, batch.id);
        expect(listed.map((j) => j.status)).toEqual(['COMPLETED', 'FAILED', 'CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
        expect(tally(listed)).toEqual(cancelled.counts);
        expect(await store.complete(ids[2]!, runningAttempt, buildResult(), at(20))).toBeNull();
        expect(await store.claim(ids[3]!, at(20), LEASE_MS)).toMatchObject({ claimed: false, reason: 'CANCELLED' });
        await expect(store.cancelBatch('alice', batch.id, at(30))).rejects.toBeInstanceOf(ConflictError);
        await expect(store.retryFailed('alice', batch.id, at(30))).rejects.toBeInstanceOf(ConflictError);
      });

      it('retries only the failed children of a batch', async () => {
        const { batch, children } = await createBatchOf(store, 4);
        const ids = children.map((c) => c.id) as [string, string, string, string];
        await finish(store, ids[0], at(0), 'complete');
        await finish(store, ids[1], at(0), 'fail');
        await finish(store, ids[2], at(0), 'fail');
        await store.markQueued([ids[3]], at(0));
        const running = await claimOk(store, ids[3], at(0));
        const doneBefore = await getJob(store, ids[0]);

        const retried = await store.retryFailed('alice', batch.id, at(10));

        expect(new Set(retried.jobs.map((j) => j.id))).toEqual(new Set([ids[1], ids[2]]));
        for (const job of retried.jobs) {
          expect(job).toMatchObject({ status: 'QUEUED', error: null, completedAt: null });
          expect(await getJob(store, job.id)).toEqual(job);
        }
        expect(retried.batch.counts).toEqual({ ...emptyCounts(), completed: 1, queued: 2, running: 1 });
        expect(retried.batch).toEqual(await getBatch(store, batch.id));
        expect(await getJob(store, ids[0])).toEqual(doneBefore);
        expect(await getJob(store, ids[3])).toMatchObject({ status: 'RUNNING', attempts: running });
        expect(await store.claim(ids[1], at(20), LEASE_MS)).toMatchObject({ claimed: true });
      });

      it('runs a FAILED batch again after a retry, and it can end COMPLETED', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        for (const child of children) await finish(store, child.id, at(0), 'fail');
        expect((await getBatch(store, batch.id)).status).toBe('FAILED');

        const { batch: retried } = await store.retryFailed('alice', batch.id, at(10));

        expect(['PENDING', 'RUNNING']).toContain(retried.status);
        expect(retried.completedAt).toBeNull();
        for (const child of children) {
          const attempt = await claimOk(store, child.id, at(20));
          await store.complete(child.id, attempt, buildResult(), at(30));
        }
        expect(await getBatch(store, batch.id)).toMatchObject({
          status: 'COMPLETED',
          completedAt: at(30),
          counts: { ...emptyCounts(), completed: 2 },
        });
      });

      it('refuses to retry a batch with no failed children (ConflictError)', async () => {
        const { batch, children } = await createBatchOf(store, 2);
        await finish(store, children[0]!.id, at(0), 'complete');
        const before = await getBatch(store, batch.id);
        await expect(store.retryFailed('alice', batch.id, at(10))).rejects.toBeInstanceOf(ConflictError);
        expect(await getBatch(store, batch.id)).toEqual(before);
      });

      it('never lets the counters drift from the children under random legal operations', async () => {
        const steps = options.randomSteps ?? 300;
        const maxConcurrent = 40;
        const random = prng(20250301);
        const { batch, children } = await createBatchOf(store, 200, { maxConcurrent });
        const ids = children.map((c) => c.id);
        const model = new Map(
          ids.map((id) => [
            id,
            { status: 'PENDING' as JobStatus, attempt: 0, leaseUntil: 0, affinity: null as number | null, usageMs: 0 },
          ]),
        );
        const state = (id: string) => model.get(id)!;
        const withStatus = (status: JobStatus) => ids.filter((id) => state(id).status === status);
        const pick = (from: string[]) => from[Math.floor(random() * from.length)];
        const cancelAt = Math.floor(steps * 0.85);
        let cancelRequested = false;
        let now = 0;

        for (let step = 0; step < steps; step++) {
          now += 1_000;
          const t = at(now);
          const roll = random();
          let op: string;
          if (step === cancelAt) {
            op = 'cancelBatch';
            await store.cancelBatch('alice', batch.id, t);
            cancelRequested = true;
            for (const id of ids) if (!isTerminal(state(id).status)) state(id).status = 'CANCELLED';
          } else if (roll < 0.15) {
            const some = Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(ids)!);
            op = `markQueued ${some.length}`;
            await store.markQueued(some, t);
            for (const id of some) if (state(id).status === 'PENDING') state(id).status = 'QUEUED';
          } else if (roll < 0.45) {
            const id = pick(ids)!;
            const m = state(id);
            op = `claim ${id} (${m.status})`;
            const outcome = await store.claim(id, t, LEASE_MS);
            const expected =
              m.status === 'COMPLETED' || m.status === 'FAILED'
                ? 'FINISHED'
                : m.status === 'CANCELLED'
                  ? 'CANCELLED'
                  : m.status === 'RUNNING' && m.leaseUntil > now
                    ? 'LEASED'
                    : m.status !== 'RUNNING' && withStatus('RUNNING').length >= maxConcurrent
                      ? 'THROTTLED'
                      : 'CLAIMED';
            if (expected === 'CLAIMED') {
              expect(outcome, op).toMatchObject({ claimed: true, attempt: m.attempt + 1 });
              Object.assign(m, { status: 'RUNNING', attempt: m.attempt + 1, leaseUntil: now + LEASE_MS });
            } else {
              expect(outcome, op).toMatchObject({ claimed: false, reason: expected });
            }
          } else if (roll < 0.75) {
            const id = pick(withStatus('RUNNING'));
            if (id === undefined) {
              op = 'nothing running';
            } else {
              const m = state(id);
              const stale = random() < 0.1;
              const attempt = stale ? m.attempt - 1 : m.attempt;
              const seconds = 1 + Math.floor(random() * 90);
              const usage = l4Usage(seconds);
              if (!stale) m.usageMs += usage.runtimeMs;
              const what = random();
              if (what < 0.6) {
                op = `complete ${id} attempt ${attempt}${stale ? ' (stale)' : ''}`;
                const affinity = random() < 0.8 ? Math.round((random() * 10 - 8) * 100) / 100 : null;
                const done = await store.complete(id, attempt, buildResult({ affinity }), t, usage);
                if (stale) expect(done, op).toBeNull();
                else {
                  Object.assign(m, { status: 'COMPLETED', affinity });
                  expect(done, op).toMatchObject({ status: 'COMPLETED' });
                }
              } else if (what < 0.8) {
                op = `fail ${id} attempt ${attempt}${stale ? ' (stale)' : ''}`;
                const done = await store.fail(id, attempt, BAD_INPUT, t, usage);
                if (stale) expect(done, op).toBeNull();
                else {
                  m.status = 'FAILED';
                  expect(done, op).toMatchObject({ status: 'FAILED' });
                }
              } else {
                op = `release ${id} attempt ${attempt}${stale ? ' (stale)' : ''}`;
                const done = await store.release(id, attempt, TRANSIENT, t, usage);
                if (stale) expect(done, op).toBeNull();
                else {
                  m.status = 'QUEUED';
                  expect(done, op).toMatchObject({ status: 'QUEUED' });
                }
              }
            }
          } else if (roll < 0.83) {
            const id = pick(ids)!;
            const m = state(id);
            op = `cancelJob ${id} (${m.status})`;
            if (isTerminal(m.status)) {
              await expect(store.cancelJob('alice', id, t), op).rejects.toBeInstanceOf(ConflictError);
            } else {
              expect(await store.cancelJob('alice', id, t), op).toMatchObject({ status: 'CANCELLED' });
              m.status = 'CANCELLED';
            }
          } else if (roll < 0.96) {
            op = 'requeueExpired';
            const expired = new Set(withStatus('RUNNING').filter((id) => state(id).leaseUntil <= now));
            const requeued = await store.requeueExpired(t, 5);
            expect(requeued.length, op).toBe(Math.min(5, expired.size));
            for (const job of requeued) {
              expect(expired.has(job.id), `${op}: ${job.id} had a live lease`).toBe(true);
              state(job.id).status = 'QUEUED';
            }
          } else {
            const failed = withStatus('FAILED');
            op = `retryFailed (${failed.length} failed)`;
            if (cancelRequested || failed.length === 0) {
              await expect(store.retryFailed('alice', batch.id, t), op).rejects.toBeInstanceOf(ConflictError);
            } else {
              const { jobs } = await store.retryFailed('alice', batch.id, t);
              expect(new Set(jobs.map((j) => j.id)), op).toEqual(new Set(failed));
              for (const job of jobs) Object.assign(state(job.id), { status: 'QUEUED', attempt: job.attempts });
            }
          }

          const where = `after step ${step}: ${op}`;
          const listed = await allBatchJobs(store, batch.id);
          expect(
            listed.map((j) => j.id),
            where,
          ).toEqual(ids);
          expect(
            listed.map((j) => j.status),
            where,
          ).toEqual(ids.map((id) => state(id).status));
          const stored = await getBatch(store, batch.id);
          expect(stored.counts, where).toEqual(tally(listed));
          const usedMs = ids.reduce((total, id) => total + state(id).usageMs, 0);
          expect(stored.usage, where).toEqual(l4Usage(usedMs / 1000));
          expect(
            listed.map((j) => j.usage?.runtimeMs ?? 0),
            where,
          ).toEqual(ids.map((id) => state(id).usageMs));
          expect(sum(stored.counts), where).toBe(stored.total);
          expect(stored.counts.running, where).toBeLessThanOrEqual(maxConcurrent);
          expect(stored.cancelRequested, where).toBe(cancelRequested);
          expect(stored.status, where).toBe(
            batchStatusFrom(stored.counts, stored.total, stored.cancelRequested, stored.startedAt !== null),
          );
          const affinities = ids
            .map((id) => state(id))
            .filter((m) => m.status === 'COMPLETED' && m.affinity !== null)
            .map((m) => m.affinity!);
          const stats = await store.batchStats(batch.id);
          expect(stats.withAffinity, where).toBe(affinities.length);
          expect(stats.bestAffinity, where).toBe(affinities.length === 0 ? null : Math.min(...affinities));
          if (affinities.length === 0) expect(stats.meanAffinity, where).toBeNull();
          else expect(stats.meanAffinity, where).toBeCloseTo(affinities.reduce((a, b) => a + b, 0) / affinities.length, 6);
        }
      });
    });

    describe('paging', () => {
      it('pages 250 jobs forward and backward, newest first then by id, without duplicates or omissions', async () => {
        // Three jobs share each createdAt, and ids are not in creation order.
        const jobs = Array.from({ length: 250 }, (_, i) =>
          buildJob({
            id: `${String((i * 7919) % 250).padStart(3, '0')}-${newId('paged')}`,
            createdAt: at(Math.floor(i / 3) * 1000),
          }),
        );
        for (const job of jobs) await store.createJob(job);
        await store.createJob(buildJob({ owner: 'bob' }));
        await createBatchOf(store, 5);
        const expected = [...jobs].sort(newestFirst).map((j) => j.id);
        const read = (req: PageRequest) => store.listJobs('alice', {}, req);

        const forward = await walkForward(read, 7);
        const backward = await walkBackward(read, 7);

        expect(forward.nodes.map((j) => j.id)).toEqual(expected);
        expect(backward.nodes.map((j) => j.id)).toEqual(expected);
        expectWalkFlags(forward.pages, backward.pages, 250, 7);
        expect(forward.nodes[0]).toEqual(jobs.find((j) => j.id === expected[0]));
      });

      it('pages through the middle from any cursor in both directions', async () => {
        const jobs = Array.from({ length: 30 }, (_, i) => buildJob({ createdAt: at(Math.floor(i / 4) * 1000) }));
        for (const job of jobs) await store.createJob(job);
        const expected = [...jobs].sort(newestFirst).map((j) => j.id);
        const all = await store.listJobs('alice', {}, { first: 100 });
        const cursor = all.edges[12]!.cursor;

        const after = await store.listJobs('alice', {}, { first: 5, after: cursor });
        const before = await store.listJobs('alice', {}, { last: 5, before: cursor });

        expect(after.edges.map((e) => e.node.id)).toEqual(expected.slice(13, 18));
        expect(after).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
        expect(before.edges.map((e) => e.node.id)).toEqual(expected.slice(7, 12));
        expect(before).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
      });

      it('lists only individual jobs when neither kind nor batch is given', async () => {
        const individual = [
          buildJob({ createdAt: at(1) }),
          buildJob({ createdAt: at(2), model: 'VINA' }),
          buildJob({ createdAt: at(3) }),
        ];
        for (const job of individual) await store.createJob(job);
        const { batch, children } = await createBatchOf(store, 4, { createdAt: at(10) });
        await store.markQueued([individual[0]!.id, children[0]!.id], at(20));
        const list = async (filter: Parameters<JobStore['listJobs']>[1]) =>
          (await store.listJobs('alice', filter, { first: 100 })).edges.map((e) => e.node.id);

        expect(await list({})).toEqual([individual[2]!.id, individual[1]!.id, individual[0]!.id]);
        expect(await list({ kind: 'INDIVIDUAL' })).toEqual(await list({}));
        expect(new Set(await list({ kind: 'BATCH_CHILD' }))).toEqual(new Set(children.map((c) => c.id)));
        expect(new Set(await list({ batchId: batch.id }))).toEqual(new Set(children.map((c) => c.id)));
        expect(await list({ status: 'QUEUED' })).toEqual([individual[0]!.id]);
        expect(await list({ batchId: batch.id, status: 'QUEUED' })).toEqual([children[0]!.id]);
        expect(await list({ model: 'VINA' })).toEqual([individual[1]!.id]);
      });

      it("never lists another owner's jobs or batches", async () => {
        const mine = buildJob();
        await store.createJob(mine);
        await store.createJob(buildJob({ owner: 'bob' }));
        const { batch: bobsBatch } = await createBatchOf(store, 3, { owner: 'bob' });
        const { batch: myBatch } = await createBatchOf(store, 2);

        expect((await store.listJobs('alice', {}, { first: 100 })).edges.map((e) => e.node.id)).toEqual([mine.id]);
        expect((await store.listJobs('alice', { batchId: bobsBatch.id }, { first: 100 })).edges).toEqual([]);
        expect(
          (await store.listJobs('alice', { kind: 'BATCH_CHILD' }, { first: 100 })).edges.every((e) => e.node.owner === 'alice'),
        ).toBe(true);
        expect((await store.listBatches('alice', {}, { first: 100 })).edges.map((e) => e.node.id)).toEqual([myBatch.id]);
        expect((await store.listJobs('carol', {}, { first: 100 })).edges).toEqual([]);
      });

      it('lists batches newest first, forward and backward, with their filters', async () => {
        const batches = [];
        for (let i = 0; i < 9; i++)
          batches.push(
            (await createBatchOf(store, 1, { createdAt: at(Math.floor(i / 2) * 1000), model: i % 3 === 0 ? 'VINA' : 'BOLTZ2' }))
              .batch,
          );
        await finish(store, (await allBatchJobs(store, batches[4]!.id))[0]!.id, at(10_000), 'complete');
        const expected = [...batches]
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
          .map((b) => b.id);
        const read = (req: PageRequest) => store.listBatches('alice', {}, req);

        const forward = await walkForward(read, 2);
        const backward = await walkBackward(read, 2);

        expect(forward.nodes.map((b) => b.id)).toEqual(expected);
        expect(backward.nodes.map((b) => b.id)).toEqual(expected);
        expectWalkFlags(forward.pages, backward.pages, 9, 2);
        expect((await store.listBatches('alice', { status: 'COMPLETED' }, { first: 10 })).edges.map((e) => e.node.id)).toEqual([
          batches[4]!.id,
        ]);
        expect(new Set((await store.listBatches('alice', { model: 'VINA' }, { first: 10 })).edges.map((e) => e.node.id))).toEqual(
          new Set([batches[0]!.id, batches[3]!.id, batches[6]!.id]),
        );
      });

      it("lists a batch's children by index, ascending and descending, forward and backward", async () => {
        const { batch, children } = await createBatchOf(store, 25);
        const ascending = children.map((c) => c.id);
        for (const direction of ['ASC', 'DESC'] as const) {
          const expected = direction === 'ASC' ? ascending : [...ascending].reverse();
          const read = (req: PageRequest) => store.listBatchJobs(batch.id, {}, { field: 'INDEX', direction }, req);
          const forward = await walkForward(read, 7);
          const backward = await walkBackward(read, 7);
          expect(
            forward.nodes.map((j) => j.id),
            direction,
          ).toEqual(expected);
          expect(
            backward.nodes.map((j) => j.id),
            direction,
          ).toEqual(expected);
          expectWalkFlags(forward.pages, backward.pages, 25, 7);
        }
      });

      describe('ranking a batch', () => {
        // Index → result: ties in both values, completed jobs without a value, and jobs not done.
        const AFFINITY: (number | null | 'none')[] = [
          -1.5,
          'none',
          -3,
          null,
          0.25,
          -3,
          'none',
          -0.5,
          0.25,
          null,
          -7,
          'none',
          -3,
          1,
          'none',
          -0.5,
        ];
        const CONFIDENCE: (number | null)[] = [
          0.9,
          null,
          0.4,
          0.6,
          0.4,
          0.95,
          null,
          0.1,
          0.4,
          null,
          0.7,
          null,
          0.3,
          0.55,
          null,
          null,
        ];

        async function rankedBatch() {
          const { batch, children } = await createBatchOf(store, AFFINITY.length);
          for (const [index, child] of children.entries()) {
            const affinity = AFFINITY[index]!;
            if (affinity === 'none') continue;
            await store.markQueued([child.id], at(0));
            const attempt = await claimOk(store, child.id, at(0));
            await store.complete(child.id, attempt, buildResult({ affinity, confidence: CONFIDENCE[index] ?? null }), at(1));
          }
          return { batch, children };
        }

        /** The expected order: valued jobs by value (ties in either index order), then the rest by index. */
        function expectRanked(jobs: Job[], value: (j: Job) => number | null, direction: 'ASC' | 'DESC', what: string): void {
          const valued = jobs.filter((j) => value(j) !== null);
          const rest = jobs.slice(valued.length);
          expect(
            rest.every((j) => value(j) === null),
            `${what}: jobs without a value come last`,
          ).toBe(true);
          const values = valued.map((j) => value(j)!);
          const sorted = [...values].sort((a, b) => (direction === 'ASC' ? a - b : b - a));
          expect(values, `${what}: by value`).toEqual(sorted);
          expect(
            rest.map((j) => j.batchIndex),
            `${what}: the rest by index`,
          ).toEqual([...rest.map((j) => j.batchIndex!)].sort((a, b) => a - b));
        }

        for (const field of ['AFFINITY', 'CONFIDENCE'] as const) {
          const value = (j: Job) => (field === 'AFFINITY' ? j.result?.affinity?.value : j.result?.confidence?.score) ?? null;
          for (const direction of ['ASC', 'DESC'] as const) {
            it(`orders by ${field} ${direction}, the jobs without one last by index, on every page`, async () => {
              const { batch, children } = await rankedBatch();
              const order = { field, direction };
              const read = (req: PageRequest) => store.listBatchJobs(batch.id, {}, order, req);

              const whole = (await read({ first: 100 })).edges.map((e) => e.node);
              const forward = await walkForward(read, 3);
              const backward = await walkBackward(read, 3);

              expect(new Set(whole.map((j) => j.id))).toEqual(new Set(children.map((c) => c.id)));
              expect(whole).toHaveLength(children.length);
              expectRanked(whole, value, direction, `${field} ${direction}`);
              expect(forward.nodes.map((j) => j.id)).toEqual(whole.map((j) => j.id));
              expect(backward.nodes.map((j) => j.id)).toEqual(whole.map((j) => j.id));
              expectWalkFlags(forward.pages, backward.pages, children.length, 3);
            });
          }
        }

        it('filters a ranked list by status', async () => {
          const { batch, children } = await rankedBatch();
          await store.markQueued([children[1]!.id], at(5));

          const completed = (
            await store.listBatchJobs(batch.id, { status: 'COMPLETED' }, { field: 'AFFINITY', direction: 'ASC' }, { first: 100 })
          ).edges.map((e) => e.node);
          const queued = (await store.listBatchJobs(batch.id, { status: 'QUEUED' }, INDEX_ASC, { first: 100 })).edges.map(
            (e) => e.node.id,
          );
          const pendingDesc = (
            await store.listBatchJobs(batch.id, { status: 'PENDING' }, { field: 'INDEX', direction: 'DESC' }, { first: 100 })
          ).edges.map((e) => e.node.batchIndex);

          expect(completed).toHaveLength(AFFINITY.filter((a) => a !== 'none').length);
          expect(completed.every((j) => j.status === 'COMPLETED')).toBe(true);
          expectRanked(completed, (j) => j.result?.affinity?.value ?? null, 'ASC', 'completed by affinity');
          expect(queued).toEqual([children[1]!.id]);
          expect(pendingDesc).toEqual([14, 11, 6]);
        });
      });

      it('refuses a cursor from another list or ordering, and a cursor it never issued, with InvalidCursorError', async () => {
        const { batch } = await createBatchOf(store, 5);
        const { batch: other } = await createBatchOf(store, 5);
        await store.createJob(buildJob());
        const byIndex = (await store.listBatchJobs(batch.id, {}, INDEX_ASC, { first: 2 })).edges[1]!.cursor;
        const byAffinity = (await store.listBatchJobs(batch.id, {}, { field: 'AFFINITY', direction: 'ASC' }, { first: 2 }))
          .edges[1]!.cursor;
        const ofJobs = (await store.listJobs('alice', {}, { first: 1 })).edges[0]!.cursor;
        const ofBatches = (await store.listBatches('alice', {}, { first: 1 })).edges[0]!.cursor;
        const forged = Buffer.from(JSON.stringify({ id: 'x' })).toString('base64url');

        const refused: [string, () => Promise<unknown>][] = [
          [
            'index cursor, affinity order',
            () => store.listBatchJobs(batch.id, {}, { field: 'AFFINITY', direction: 'ASC' }, { first: 2, after: byIndex }),
          ],
          [
            'affinity cursor, confidence order',
            () => store.listBatchJobs(batch.id, {}, { field: 'CONFIDENCE', direction: 'ASC' }, { first: 2, after: byAffinity }),
          ],
          ['affinity cursor, index order', () => store.listBatchJobs(batch.id, {}, INDEX_ASC, { last: 2, before: byAffinity })],
          ['jobs cursor, batch children', () => store.listBatchJobs(batch.id, {}, INDEX_ASC, { first: 2, after: ofJobs })],
          ["one batch's cursor, another batch", () => store.listBatchJobs(other.id, {}, INDEX_ASC, { first: 2, after: byIndex })],
          [
            'unfiltered cursor, filtered list',
            () => store.listBatchJobs(batch.id, { status: 'PENDING' }, INDEX_ASC, { first: 2, after: byIndex }),
          ],
          ['batches cursor, jobs', () => store.listJobs('alice', {}, { first: 2, after: ofBatches })],
          ['jobs cursor, batches', () => store.listBatches('alice', {}, { last: 2, before: ofJobs })],
          ['garbage', () => store.listJobs('alice', {}, { first: 2, after: 'not a cursor!' })],
          ['empty', () => store.listJobs('alice', {}, { first: 2, after: '' })],
          ['forged JSON', () => store.listJobs('alice', {}, { first: 2, after: forged })],
          ['truncated', () => store.listJobs('alice', {}, { first: 2, after: ofJobs.slice(0, 10) })],
        ];
        for (const [what, read] of refused) {
          await expect(read(), what).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });
    });
  });
}
