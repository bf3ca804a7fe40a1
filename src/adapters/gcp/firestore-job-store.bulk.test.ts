import { afterAll, describe, expect, it } from 'vitest';
import { QuotaExceededError } from '../../domain/errors.js';
import { quotaWindows, unlimited, type Admission } from '../../domain/quota.js';
import type { Job } from '../../domain/job.js';
import type { Page, PageRequest } from '../../ports/page.js';
import { T0, at, buildBatch } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { JOBS, STAGED_CHILD, jobToDoc } from './firestore/job-documents.js';

/** createBatch's three steps (stage with BulkWriter, admit, make visible) at size, refused, repeated, and crashed. */
const WINDOWS = quotaWindows(T0);
const alice = { kind: 'user' as const, id: 'alice' };
const HOUR = 3_600_000;

function admission(batchSize: number | null, size: number): Admission {
  return {
    windows: WINDOWS,
    subjects: [{ subject: alice, limits: { ...unlimited(), batchSize, concurrentJobs: 20_000 } }],
    demand: { jobs: size, newJobs: size, batchSize: size, estimatedGpuMs: 0 },
  };
}

async function walk(read: (page: PageRequest) => Promise<Page<Job>>): Promise<Job[]> {
  const nodes: Job[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await read({ first: 100, after });
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.hasNextPage) return nodes;
    after = page.edges[page.edges.length - 1]!.cursor;
  }
}

describe('FirestoreJobStore.createBatch', () => {
  const { db } = emulatorFirestore();
  const store = new FirestoreJobStore(db);
  afterAll(() => db.terminate());

  const stagedOf = async (batchId: string) =>
    (await db.collection(JOBS).where('batch_parent_id', '==', `staged:${batchId}`).get()).size;

  it('lands a 10,000-ligand batch whole: every child readable in index order, the counts exact', async () => {
    const { batch, children } = buildBatch(10_000);
    const started = performance.now();
    const { created } = await store.createBatch(batch, children, admission(null, 10_000));
    console.info(`createBatch of 10,000 children against the emulator: ${Math.round(performance.now() - started)} ms`);
    expect(created).toBe(true);
    const [stored] = await store.getBatches([batch.id]);
    expect(stored).toMatchObject({ status: 'PENDING', total: 10_000, counts: { pending: 10_000, queued: 0, completed: 0 } });
    const listed = await walk((page) => store.listBatchJobs(batch.id, {}, { field: 'INDEX', direction: 'ASC' }, page));
    expect(listed.map((j) => j.batchIndex)).toEqual(children.map((_, i) => i));
    expect(listed.every((j) => j.status === 'PENDING' && j.batchId === batch.id)).toBe(true);
    expect(await stagedOf(batch.id)).toBe(0);
    expect((await store.quotaUsage(alice, WINDOWS)).openJobs).toBe(10_000);
  }, 300_000);

  it('leaves no child visible and nothing counted after a refused (quota) submission', async () => {
    const { db: own } = emulatorFirestore();
    const fresh = new FirestoreJobStore(own);
    const { batch, children } = buildBatch(300);
    await expect(fresh.createBatch(batch, children, admission(100, 300))).rejects.toBeInstanceOf(QuotaExceededError);
    expect(await fresh.getBatches([batch.id])).toEqual([null]);
    expect((await fresh.getJobs(children.map((c) => c.id))).every((j) => j === null)).toBe(true);
    expect((await own.collection(JOBS).count().get()).data().count).toBe(0);
    expect(await fresh.quotaUsage(alice, WINDOWS)).toEqual({ openJobs: 0, jobsToday: 0, gpuMsThisMonth: 0 });
    await own.terminate();
  });

  it('returns the first batch for a repeated idempotency key, sequential or concurrent, and keeps no child of the others', async () => {
    const { db: own, projectId } = emulatorFirestore();
    const other = emulatorFirestore(projectId).db; // a second process
    const fresh = new FirestoreJobStore(own);
    const first = buildBatch(200, { idempotencyKey: 'screen-1' });
    const racing = buildBatch(200, { idempotencyKey: 'screen-2' });
    const racingToo = buildBatch(200, { idempotencyKey: 'screen-2' });
    const later = buildBatch(200, { idempotencyKey: 'screen-1' });
    const [a, b] = await Promise.all([
      fresh.createBatch(racing.batch, racing.children),
      new FirestoreJobStore(other).createBatch(racingToo.batch, racingToo.children),
    ]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.batch.id).toBe(b.batch.id);
    await fresh.createBatch(first.batch, first.children);
    const again = await fresh.createBatch(later.batch, later.children);
    expect(again).toMatchObject({ created: false, batch: { id: first.batch.id, total: 200 } });
    const loser = a.created ? racingToo : racing;
    for (const gone of [loser, later]) {
      expect(await fresh.getBatches([gone.batch.id])).toEqual([null]);
      expect((await fresh.getJobs(gone.children.map((c) => c.id))).every((j) => j === null)).toBe(true);
    }
    expect((await own.collection(JOBS).where('job_type', '==', STAGED_CHILD).count().get()).data().count).toBe(0);
    expect((await fresh.quotaUsage(alice, WINDOWS)).openJobs).toBe(400);
    await Promise.all([own.terminate(), other.terminate()]);
  });

  it("deletes a crashed submission's staged children once older than the grace period, and only those", async () => {
    const { db: own } = emulatorFirestore();
    const fresh = new FirestoreJobStore(own, { stagedGraceMs: HOUR });
    // A process died after step 1: its children are staged, its batch never written.
    const crashed = buildBatch(30, { createdAt: at(0) });
    const recent = buildBatch(5, { createdAt: at(2 * HOUR) }); // a submission still staging
    await Promise.all(
      [crashed, recent].flatMap(({ batch, children }) =>
        children.map((c) =>
          own
            .collection(JOBS)
            .doc(c.id)
            .set({ ...jobToDoc(c, null, true), batch_parent_id: `staged:${batch.id}` }),
        ),
      ),
    );
    expect((await fresh.quotaUsage(alice, WINDOWS)).openJobs).toBe(35);
    const live = buildBatch(3, { createdAt: at(0) });
    await fresh.createBatch(live.batch, live.children);

    await fresh.requeueExpired(at(2 * HOUR + 1), 10);
    expect((await own.collection(JOBS).where('job_type', '==', STAGED_CHILD).get()).docs.map((d) => d.id).sort()).toEqual(
      recent.children.map((c) => c.id).sort(),
    );
    expect((await fresh.quotaUsage(alice, WINDOWS)).openJobs).toBe(5 + 3);
    expect((await fresh.getBatches([live.batch.id]))[0]).toMatchObject({ total: 3, counts: { pending: 3 } });
    await own.terminate();
  });
});
