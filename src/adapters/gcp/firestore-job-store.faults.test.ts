import { BulkWriter, DocumentReference } from '@google-cloud/firestore';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { at, buildBatch, buildJob, buildProtein, buildResult } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { JOBS } from './firestore/job-documents.js';
import { PAYLOADS } from './firestore/payloads.js';

/** Faults the store recovers from, or reports, instead of crashing the api or stalling the reaper. */
const LEASE_MS = 60_000;
const restores: (() => void)[] = [];
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

describe('FirestoreJobStore under faults', () => {
  const { db, projectId } = emulatorFirestore();
  afterAll(() => db.terminate());
  const reported: { error: unknown; during: string }[] = [];
  const store = new FirestoreJobStore(db, { onError: (error, during) => reported.push({ error, during }) });

  it('rejects createJob and createBatch when a payload chunk cannot be written, with no unhandled rejection', async () => {
    // Payload chunks fail at the server: an update of a chunk that does not exist is NOT_FOUND, not retried.
    const set = BulkWriter.prototype.set;
    BulkWriter.prototype.set = function (this: BulkWriter, ref: DocumentReference, data: never) {
      if (ref.parent.id === PAYLOADS) return this.update(ref, data);
      return set.call(this, ref, data);
    } as typeof set;
    restores.push(() => (BulkWriter.prototype.set = set));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    restores.push(() => process.off('unhandledRejection', onUnhandled));

    const protein = buildProtein({ structure: { format: 'PDB', content: `ATOM ${'x'.repeat(200_000)}\n` } });
    const job = buildJob({ protein });
    const { batch, children } = buildBatch(3, { protein });
    await expect(store.createJob(job)).rejects.toMatchObject({ code: 5 });
    await expect(store.createBatch(batch, children)).rejects.toMatchObject({ code: 5 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(unhandled).toEqual([]);
    expect(await store.getJobs([job.id, ...children.map((c) => c.id)])).toEqual([null, null, null, null]);
    expect(await store.getBatches([batch.id])).toEqual([null]);
  });

  it('returns the completed job when its batch cannot be finalized, and the sweep finalizes the batch later', async () => {
    const { batch, children } = buildBatch(1);
    await store.createBatch(batch, children);
    const child = children[0]!;
    const attempt = (await store.claim(child.id, at(10), LEASE_MS)) as { attempt: number };
    // finalize first reads the batch document outside any transaction: that read fails once.
    const get = DocumentReference.prototype.get;
    let failed = false;
    DocumentReference.prototype.get = function (this: DocumentReference) {
      if (!failed && this.id === batch.id) {
        failed = true;
        return Promise.reject(Object.assign(new Error('14 UNAVAILABLE: Firestore went away'), { code: 14 }));
      }
      return get.call(this);
    } as typeof get;
    restores.push(() => (DocumentReference.prototype.get = get));

    const done = await store.complete(child.id, attempt.attempt, buildResult(), at(20));

    expect(done).toMatchObject({ id: child.id, status: 'COMPLETED' });
    expect(failed).toBe(true);
    expect(reported.map((r) => r.during)).toEqual([expect.stringContaining(`finalizing batch ${batch.id}`)]);
    const parent = db.collection(JOBS).doc(batch.id);
    expect((await parent.get()).get('status')).not.toBe('completed');
    await store.requeueExpired(at(30), 10);
    expect((await parent.get()).get('status')).toBe('completed');
    expect((await store.getBatches([batch.id]))[0]).toMatchObject({ status: 'COMPLETED', completedAt: at(30) });
  });

  it('re-queues expired leases although a batch document the sweep reads is malformed, and reports it', async () => {
    reported.length = 0;
    const job = buildJob();
    await store.createJob(job);
    await store.claim(job.id, at(0), LEASE_MS);
    // An open batch parent without the user_id and model every batch has.
    await db.collection(JOBS).doc('broken-batch').set({ job_id: 'broken-batch', job_type: 'BATCH_PARENT', status: 'running' });

    const requeued = await store.requeueExpired(at(LEASE_MS + 1), 10);

    expect(requeued.map((j) => [j.id, j.status])).toEqual([[job.id, 'QUEUED']]);
    expect(reported).toEqual([expect.objectContaining({ during: expect.stringContaining('finalizing batch broken-batch') })]);
    expect(String(reported[0]!.error)).toContain('jobs/broken-batch');
  });

  it('re-queues the other expired leases while one job is locked by a transaction that hangs, and reports that one', async () => {
    reported.length = 0;
    const [stuck, free] = [buildJob(), buildJob()];
    for (const job of [stuck, free]) {
      await store.createJob(job);
      await store.markQueued([job.id], at(0));
      await store.claim(job.id, at(0), LEASE_MS);
    }
    // Another process's transaction read `stuck` (locking it) and never ends.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const other = emulatorFirestore(projectId).db;
    const hanging = other.runTransaction(async (tx) => {
      await tx.get(other.collection(JOBS).doc(stuck.id));
      locked();
      await held;
    });
    await isLocked;
    try {
      const requeued = await store.requeueExpired(at(LEASE_MS + 1), 10);
      expect(requeued.map((j) => [j.id, j.status])).toEqual([[free.id, 'QUEUED']]);
      expect(reported.map((r) => r.during)).toContain('requeueExpired');
    } finally {
      release();
      await hanging;
      await other.terminate();
    }
  }, 90_000);
});
