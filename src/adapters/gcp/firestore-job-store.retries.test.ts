import { Transaction } from '@google-cloud/firestore';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { at, buildBatch, buildJob, buildResult } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { JOBS, STAGED_CHILD } from './firestore/job-documents.js';

/**
 * A commit applied whose reply is lost: the SDK's transaction commit is wrapped so that the
 * next commit really commits and then fails with gRPC UNAVAILABLE (code 14), as a dropped
 * connection would. The SDK then runs the transaction's function again; the store must
 * recognise its own commit instead of refusing it.
 */
const LEASE_MS = 60_000;
type Commit = (this: Transaction) => Promise<void>;
const proto = Transaction.prototype as unknown as { commit: Commit };
const originalCommit = proto.commit;
let commits = 0;

/** Loses the reply of the commit after the next `skip` ones. */
function loseNextCommitReply(skip = 0): void {
  commits = 0;
  let lost = false;
  proto.commit = async function (this: Transaction) {
    commits += 1;
    await originalCommit.call(this);
    if (lost || commits <= skip) return;
    lost = true;
    throw Object.assign(new Error('14 UNAVAILABLE: the connection dropped before the reply'), { code: 14 });
  };
}

afterEach(() => {
  proto.commit = originalCommit;
});

describe('FirestoreJobStore when a commit is applied but its reply is lost', () => {
  const { db } = emulatorFirestore();
  const store = new FirestoreJobStore(db);
  afterAll(() => db.terminate());

  it.each([
    ['without', null],
    ['with', 'screen-lost-reply'],
  ])('creates a batch %s an idempotency key: created, every child visible and dispatchable', async (_, key) => {
    const { batch, children } = buildBatch(30, { idempotencyKey: key });
    loseNextCommitReply();
    const outcome = await store.createBatch(batch, children);
    proto.commit = originalCommit;
    expect(commits, 'the SDK ran the transaction again').toBeGreaterThanOrEqual(2);
    expect(outcome).toMatchObject({ created: true, batch: { id: batch.id } });
    expect((await store.getJobs(children.map((c) => c.id))).map((j) => j?.status)).toEqual(children.map(() => 'PENDING'));
    expect((await db.collection(JOBS).where('job_type', '==', STAGED_CHILD).count().get()).data().count).toBe(0);
    expect((await store.getBatches([batch.id]))[0]).toMatchObject({ total: 30, counts: { pending: 30 } });
    await store.markQueued(
      children.map((c) => c.id),
      at(1),
    );
    expect(await store.claim(children[0]!.id, at(2), LEASE_MS)).toMatchObject({ claimed: true, attempt: 1 });
    expect((await store.getBatches([batch.id]))[0]).toMatchObject({ status: 'RUNNING', counts: { queued: 29, running: 1 } });
  });

  it('creates a job without an idempotency key and returns it as created', async () => {
    const job = buildJob();
    loseNextCommitReply();
    const outcome = await store.createJob(job);
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(outcome).toEqual({ job, created: true });
    expect(await store.getJobs([job.id])).toEqual([job]);
  });

  it('claims a job as attempt 1, completes it and finalizes its batch, cancels another job', async () => {
    const { batch, children } = buildBatch(2);
    await store.createBatch(batch, children);
    const [first, second] = children as [(typeof children)[0], (typeof children)[0]];

    loseNextCommitReply();
    const claimed = await store.claim(first.id, at(10), LEASE_MS);
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(claimed).toMatchObject({ claimed: true, attempt: 1, job: { status: 'RUNNING', attempts: 1 } });

    loseNextCommitReply();
    const cancelled = await store.cancelJob(batch.owner, second.id, at(20));
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(cancelled).toMatchObject({ id: second.id, status: 'CANCELLED' });

    loseNextCommitReply();
    const done = await store.complete(first.id, 1, buildResult({ affinity: -7 }), at(30));
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    const stored = await db.collection(JOBS).doc(batch.id).get();
    expect(stored.get('status'), 'the batch was finalized, not only derived').toBe('completed');
    expect((await store.getBatches([batch.id]))[0]).toMatchObject({
      status: 'COMPLETED',
      counts: { completed: 1, cancelled: 1 },
    });
  });

  it('returns every retried child when the reply of a retry chunk was lost', async () => {
    const { batch, children } = buildBatch(3);
    const ids = children.map((c) => c.id);
    await store.createBatch(batch, children);
    await store.markQueued(ids, at(0));
    await store.abandon(ids, { code: 'GONE', message: 'queue gave up', retryable: true }, at(1));
    loseNextCommitReply(1); // the first commit admits the retry, the second moves the chunk
    const { jobs, batch: retried } = await store.retryFailed(batch.owner, batch.id, at(2));
    expect(commits).toBeGreaterThanOrEqual(3);
    expect(jobs.map((j) => [j.id, j.status])).toEqual(ids.map((id) => [id, 'QUEUED']));
    expect(retried).toMatchObject({ counts: { queued: 3, failed: 0 } });
  });

  it('cancels a batch whose first commit reply was lost', async () => {
    const { batch, children } = buildBatch(5);
    await store.createBatch(batch, children);
    loseNextCommitReply();
    const cancelled = await store.cancelBatch(batch.owner, batch.id, at(10));
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', counts: { cancelled: 5 } });
  });
});
