import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../domain/job.js';
import type { JobStore } from './job-store.js';
import { claimOk, getJob, type StoreHarness } from './job-store.contract.js';
import { at, buildBatch, buildJob, buildResult } from './testing/records.js';

/**
 * Records the calls of a listener and lets a test await a condition on them. The deadline
 * only turns a hang into a readable failure; nothing waits for a fixed time.
 */
export function recorder<A extends unknown[]>(deadlineMs = 5_000) {
  const calls: A[] = [];
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  const listener = (...args: A): void => {
    calls.push(args);
    for (const waiter of [...waiters]) {
      if (waiter.ready()) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  /** Resolves once `condition` holds over the calls so far. */
  const until = (condition: (calls: A[]) => boolean, what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const ready = () => condition(calls);
      if (ready()) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${deadlineMs} ms; calls so far: ${JSON.stringify(calls)}`)),
        deadlineMs,
      );
      waiters.push({ ready, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { listener, calls, until };
}

/** Resolves once a batch listener has been told that `jobId` changed. */
export function sawChild(calls: [string[]][], jobId: string): boolean {
  return calls.some(([ids]) => ids.includes(jobId));
}

async function createQueuedBatch(store: JobStore, size: number) {
  const { batch, children } = buildBatch(size);
  await store.createBatch(batch, children);
  await store.markQueued(
    children.map((c) => c.id),
    at(0),
  );
  return { batch, ids: children.map((c) => c.id) };
}

/**
 * The ChangeFeed contract, through the JobStore and ChangeFeed ports only: a listener hears of
 * committed changes to what it watches, and of nothing once it unsubscribed.
 */
export function describeChangeFeedContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`ChangeFeed contract: ${name}`, () => {
    let harness: StoreHarness;

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await harness.close();
    });

    it("tells a job's watcher after a commit that changed the job, and the change is readable by then", async () => {
      const { store, feed } = harness;
      const job = buildJob();
      await store.createJob(job);
      await store.markQueued([job.id], at(0));
      const seen = recorder<[]>();
      let readWhenTold: Promise<Job> | undefined;
      feed.watchJob(job.id, () => {
        readWhenTold ??= getJob(store, job.id);
        seen.listener();
      });

      await claimOk(store, job.id, at(10));
      await seen.until((calls) => calls.length >= 1, 'change of the claimed job');

      expect((await readWhenTold)?.status).toBe('RUNNING');
    });

    it('tells a job watcher of each later change', async () => {
      const { store, feed } = harness;
      const job = buildJob();
      await store.createJob(job);
      await store.markQueued([job.id], at(0));
      const seen = recorder<[]>();
      feed.watchJob(job.id, seen.listener);

      const attempt = await claimOk(store, job.id, at(10));
      await seen.until((calls) => calls.length >= 1, 'the claim');
      const told = seen.calls.length;
      await store.complete(job.id, attempt, buildResult(), at(20));
      await seen.until((calls) => calls.length > told, 'the completion');
    });

    it('does not tell a job watcher about other jobs', async () => {
      const { store, feed } = harness;
      const watched = buildJob();
      const other = buildJob();
      await store.createJob(watched);
      await store.createJob(other);
      await store.markQueued([watched.id, other.id], at(0));
      const ofWatched = recorder<[]>();
      const ofOther = recorder<[]>();
      feed.watchJob(watched.id, ofWatched.listener);
      feed.watchJob(other.id, ofOther.listener);

      await claimOk(store, other.id, at(10));
      await ofOther.until((calls) => calls.length >= 1, 'change of the other job');

      expect(ofWatched.calls).toEqual([]);
    });

    it("tells a batch's watcher which children changed", async () => {
      const { store, feed } = harness;
      const { batch, ids } = await createQueuedBatch(store, 5);
      const seen = recorder<[string[]]>();
      feed.watchBatch(batch.id, seen.listener);

      const attempt = await claimOk(store, ids[2]!, at(10));
      await seen.until((calls) => sawChild(calls, ids[2]!), 'change of child 2');
      await store.complete(ids[2]!, attempt, buildResult(), at(20));
      await claimOk(store, ids[4]!, at(20));
      await seen.until((calls) => sawChild(calls, ids[4]!), 'change of child 4');

      const told = new Set(seen.calls.flatMap(([changed]) => changed));
      expect(told).toEqual(new Set([ids[2], ids[4]]));
    });

    it("tells a batch's watcher when the batch is cancelled", async () => {
      const { store, feed } = harness;
      const { batch, ids } = await createQueuedBatch(store, 3);
      const seen = recorder<[string[]]>();
      feed.watchBatch(batch.id, seen.listener);

      await store.cancelBatch('alice', batch.id, at(10));

      await seen.until((calls) => calls.length >= 1, 'the cancellation');
      const told = new Set(seen.calls.flatMap(([changed]) => changed));
      for (const id of told) expect(ids).toContain(id);
    });

    it("does not tell a batch's watcher about another batch or an individual job", async () => {
      const { store, feed } = harness;
      const watched = await createQueuedBatch(store, 2);
      const other = await createQueuedBatch(store, 2);
      const ofWatched = recorder<[string[]]>();
      const ofOther = recorder<[string[]]>();
      feed.watchBatch(watched.batch.id, ofWatched.listener);
      feed.watchBatch(other.batch.id, ofOther.listener);

      await claimOk(store, other.ids[0]!, at(10));
      await ofOther.until((calls) => sawChild(calls, other.ids[0]!), 'change in the other batch');

      expect(ofWatched.calls).toEqual([]);
    });

    it('stops telling a watcher once it unsubscribed, while the others still hear', async () => {
      const { store, feed } = harness;
      const { batch, ids } = await createQueuedBatch(store, 2);
      const leftJob = recorder<[]>();
      const stayedJob = recorder<[]>();
      const leftBatch = recorder<[string[]]>();
      const stayedBatch = recorder<[string[]]>();
      const unsubscribeJob = feed.watchJob(ids[0]!, leftJob.listener);
      feed.watchJob(ids[0]!, stayedJob.listener);
      const unsubscribeBatch = feed.watchBatch(batch.id, leftBatch.listener);
      feed.watchBatch(batch.id, stayedBatch.listener);

      unsubscribeJob();
      unsubscribeBatch();
      await claimOk(store, ids[0]!, at(10));
      await stayedJob.until((calls) => calls.length >= 1, 'change to the job');
      await stayedBatch.until((calls) => sawChild(calls, ids[0]!), 'change in the batch');

      expect(leftJob.calls).toEqual([]);
      expect(leftBatch.calls).toEqual([]);
    });

    it('hears again after the last watcher left and a new one came', async () => {
      const { store, feed } = harness;
      const { ids } = await createQueuedBatch(store, 1);
      const first = recorder<[]>();
      feed.watchJob(ids[0]!, first.listener)();
      const attempt = await claimOk(store, ids[0]!, at(10));

      const second = recorder<[]>();
      feed.watchJob(ids[0]!, second.listener);
      await store.complete(ids[0]!, attempt, buildResult(), at(20));
      await second.until((calls) => calls.length >= 1, 'change after re-subscribing');

      expect(first.calls).toEqual([]);
    });
  });
}
