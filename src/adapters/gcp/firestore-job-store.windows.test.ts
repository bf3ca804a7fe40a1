import { BulkWriter, Transaction, type Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '../../domain/job.js';
import { T0, at, buildBatch, buildResult } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { JOBS, STAGED_CHILD } from './firestore/job-documents.js';

/**
 * What other callers see while a long operation is half done: a createBatch still making its
 * children visible, counts read during completions, a cancel or retry of thousands of children.
 */
const LEASE_MS = 60_000;
const restores: (() => void)[] = [];
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

type SendBatch = (this: BulkWriter, ...args: unknown[]) => Promise<void>;

/**
 * Holds createBatch in its step 3: `db`'s second BulkWriter (the unstage; the first stages)
 * sends its first batch of writes and waits with the rest until `release`.
 */
function holdUnstage(db: Firestore): { release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const bulkWriter = db.bulkWriter.bind(db);
  let made = 0;
  db.bulkWriter = (...args) => {
    const writer = bulkWriter(...args);
    if (++made === 2) {
      const internal = writer as unknown as { _sendBatch: SendBatch };
      const send = internal._sendBatch;
      let sends = 0;
      internal._sendBatch = async function (this: BulkWriter, ...rest) {
        if (sends++ > 0) await gate;
        return send.apply(this, rest);
      };
    }
    return writer;
  };
  restores.push(() => delete (db as { bulkWriter?: unknown }).bulkWriter);
  return { release };
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The most writes any transaction commit carried while `run` ran. */
async function largestCommit(run: () => Promise<void>): Promise<number> {
  const proto = Transaction.prototype as unknown as { commit(this: Transaction): Promise<void> };
  const commit = proto.commit;
  let largest = 0;
  proto.commit = function (this: Transaction) {
    const ops = (this as unknown as { _writeBatch?: { _opCount: number } })._writeBatch?._opCount ?? 0;
    largest = Math.max(largest, ops);
    return commit.call(this);
  };
  try {
    await run();
  } finally {
    proto.commit = commit;
  }
  return largest;
}

const sum = (b: Batch) => Object.values(b.counts).reduce((n, c) => n + c, 0);

describe('FirestoreJobStore while a long operation is half done', () => {
  const { db, projectId } = emulatorFirestore();
  const other = emulatorFirestore(projectId).db; // another process: the reaper, the api serving the cancel
  const store = new FirestoreJobStore(db);
  const elsewhere = new FirestoreJobStore(other);
  afterAll(() => Promise.all([db.terminate(), other.terminate()]));

  const staged = async (batchId: string) =>
    (await db.collection(JOBS).where('batch_parent_id', '==', `staged:${batchId}`).count().get()).data().count;

  it('keeps children out of the stale-PENDING sweep while their batch makes them visible, and for the grace after', async () => {
    const { batch, children } = buildBatch(300);
    const { release } = holdUnstage(db);
    const creating = store.createBatch(batch, children);
    await until(async () => (await staged(batch.id)) < 300 && (await db.collection(JOBS).doc(batch.id).get()).exists);

    const visible = await store.listBatchJobs(batch.id, {}, { field: 'INDEX', direction: 'ASC' }, { first: 10 });
    expect(visible.edges.length, 'some children are visible already').toBeGreaterThan(0);
    expect(await elsewhere.listStalePending(at(3_600_000), 500)).toEqual([]);

    release();
    await creating;
    const ready = (await db.collection(JOBS).doc(batch.id).get()).get('children_ready_at') as { toMillis(): number };
    expect(ready.toMillis()).toBeGreaterThan(T0.getTime());
    expect(await elsewhere.listStalePending(new Date(ready.toMillis()), 500)).toEqual([]);
    expect(await elsewhere.listStalePending(new Date(ready.toMillis() + 1), 500)).toHaveLength(300);
  });

  it('cancels every child of a batch cancelled while its children are still being made visible', async () => {
    const { batch, children } = buildBatch(300);
    const { release } = holdUnstage(db);
    const creating = store.createBatch(batch, children);
    await until(async () => {
      if (!(await db.collection(JOBS).doc(batch.id).get()).exists) return false; // still staging
      const left = await staged(batch.id);
      return left > 0 && left < 300;
    });

    const cancelled = await elsewhere.cancelBatch(batch.owner, batch.id, at(10));
    expect(cancelled).toMatchObject({ status: 'CANCELLED', counts: { cancelled: 300, pending: 0 } });

    release();
    await creating;
    const jobs = await store.getJobs(children.map((c) => c.id));
    expect(jobs.map((j) => j?.status)).toEqual(children.map(() => 'CANCELLED'));
    expect((await db.collection(JOBS).where('job_type', '==', STAGED_CHILD).count().get()).data().count).toBe(0);
    expect(await store.claim(children[299]!.id, at(20), LEASE_MS)).toMatchObject({ claimed: false, reason: 'CANCELLED' });
    expect((await store.getBatches([batch.id]))[0]).toMatchObject({ status: 'CANCELLED', counts: { cancelled: 300 } });
  });

  it('reads counts that add up to the total at every moment of 50 concurrent completions', async () => {
    const { batch, children } = buildBatch(50);
    await store.createBatch(batch, children);
    await store.markQueued(
      children.map((c) => c.id),
      at(0),
    );
    let done = false;
    const samples: number[] = [];
    const sampling = (async () => {
      while (!done) {
        const [read] = await elsewhere.getBatches([batch.id]);
        samples.push(sum(read!) - read!.total);
      }
    })();
    await Promise.all(
      children.map(async (c, i) => {
        const claimed = await store.claim(c.id, at(1_000), LEASE_MS);
        if (claimed.claimed) await store.complete(c.id, claimed.attempt, buildResult({ affinity: -i }), at(2_000));
      }),
    );
    done = true;
    await sampling;
    expect(samples.length).toBeGreaterThan(3);
    expect(samples.filter((off) => off !== 0)).toEqual([]);
  });

  it('cancels and retries a 2,000-child batch in transactions of at most 200 children', async () => {
    const { batch, children } = buildBatch(2_000);
    const ids = children.map((c) => c.id);
    await store.createBatch(batch, children);
    await store.markQueued(ids.slice(0, 1_500), at(0));
    const failed = await store.abandon(ids.slice(0, 1_000), { code: 'GONE', message: 'queue gave up', retryable: true }, at(1));
    expect(failed).toHaveLength(1_000);

    let retried: Awaited<ReturnType<FirestoreJobStore['retryFailed']>> | undefined;
    // A chunk's commit: 200 children, a few of the 64 counter shards, the batch's cursor.
    expect(
      await largestCommit(async () => void (retried = await store.retryFailed('alice', batch.id, at(2)))),
    ).toBeLessThanOrEqual(200 + 64 + 1);
    expect(new Set(retried!.jobs.map((j) => j.id))).toEqual(new Set(ids.slice(0, 1_000)));
    expect(retried!.batch).toMatchObject({ status: 'PENDING', counts: { queued: 1_500, pending: 500, failed: 0 } });

    let cancelled: Batch | undefined;
    expect(
      await largestCommit(async () => void (cancelled = await store.cancelBatch('alice', batch.id, at(3)))),
    ).toBeLessThanOrEqual(200 + 64);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', completedAt: at(3), counts: { cancelled: 2_000 } });
    const open = await db
      .collection(JOBS)
      .where('batch_parent_id', '==', batch.id)
      .where('status', '!=', 'cancelled')
      .count()
      .get();
    expect(open.data().count).toBe(0);
  }, 120_000);
});
