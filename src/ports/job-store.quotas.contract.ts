import { describe, expect, it } from 'vitest';
import type { Job, Usage } from '../domain/job.js';
import { QuotaExceededError } from '../domain/errors.js';
import { quotaWindows, unlimited, type Admission, type QuotaLimits, type QuotaSubject } from '../domain/quota.js';
import type { JobStore } from './job-store.js';
import { T0, at, buildBatch, buildJob, buildResult } from './testing/records.js';

const HOUR = 3_600_000;
/** The UTC day and month of T0 (2025-03-01): a job 13 hours before T0 was made in February. */
const WINDOWS = quotaWindows(T0);
const alice: QuotaSubject = { kind: 'user', id: 'alice' };
const labA: QuotaSubject = { kind: 'organization', id: 'lab-a' };

const gpu = (seconds: number): Usage => ({ runtimeMs: seconds * 1000, gpuMs: seconds * 1000, costNanoUsd: seconds * 290_700 });

function admission(limits: Partial<QuotaLimits>, demand: Partial<Admission['demand']> = {}, subject = alice): Admission {
  return {
    windows: WINDOWS,
    subjects: [{ subject, limits: { ...unlimited(), ...limits } }],
    demand: { jobs: 1, newJobs: 1, batchSize: null, estimatedGpuMs: 0, ...demand },
  };
}

/** Runs `job` to COMPLETED with `usage`. */
async function finish(store: JobStore, job: Job, usage?: Usage): Promise<void> {
  await store.markQueued([job.id], job.createdAt);
  const claim = await store.claim(job.id, job.createdAt, 60_000);
  if (!claim.claimed) throw new Error(`expected to claim ${job.id}, was refused: ${claim.reason}`);
  await store.complete(job.id, claim.attempt, buildResult(), job.createdAt, usage);
}

/**
 * Quota counts and admission (`quotaUsage`, `createJob`/`createBatch` with an Admission):
 * part of the JobStore contract, run by `describeJobStoreContract` for every adapter.
 */
export function describeQuotaContract(getStore: () => JobStore): void {
  describe('quotas', () => {
    it("counts a user's jobs not yet finished, jobs submitted today and GPU time of jobs submitted this month, exactly", async () => {
      const store = getStore();
      const february = buildJob({ createdAt: at(-13 * HOUR) });
      await store.createJob(february);
      await finish(store, february, gpu(100)); // GPU time of a February job: not this month's
      const openFromFebruary = buildJob({ createdAt: at(-13 * HOUR) });
      await store.createJob(openFromFebruary);
      const today = buildJob({ createdAt: at(0) });
      await store.createJob(today);
      const { batch, children } = buildBatch(3, { createdAt: at(HOUR) });
      await store.createBatch(batch, children);
      await finish(store, children[0]!, gpu(7.5));
      await finish(store, today, gpu(2));
      await store.cancelJob('alice', children[1]!.id, at(2 * HOUR));
      await store.createJob(buildJob({ owner: 'bob', createdAt: at(0) }));

      expect(await store.quotaUsage(alice, WINDOWS)).toEqual({
        openJobs: 2, // openFromFebruary, children[2]
        jobsToday: 4, // today + 3 children
        gpuMsThisMonth: 9_500,
      });
      expect(await store.quotaUsage({ kind: 'user', id: 'nobody' }, WINDOWS)).toEqual({
        openJobs: 0,
        jobsToday: 0,
        gpuMsThisMonth: 0,
      });
    });

    it("counts an organization's jobs across its members, and only its own", async () => {
      const store = getStore();
      await store.createJob(buildJob({ owner: 'alice', organizationId: 'lab-a' }));
      await store.createJob(buildJob({ owner: 'carol', organizationId: 'lab-a' }));
      await store.createJob(buildJob({ owner: 'alice', organizationId: null }));
      await store.createJob(buildJob({ owner: 'dave', organizationId: 'lab-b' }));
      const { batch, children } = buildBatch(2, { owner: 'carol', organizationId: 'lab-a', createdAt: at(0) });
      await store.createBatch(batch, children);
      await finish(store, children[0]!, gpu(3));

      expect(await store.quotaUsage(labA, WINDOWS)).toEqual({ openJobs: 3, jobsToday: 4, gpuMsThisMonth: 3_000 });
    });

    it('admits a submission that reaches a limit exactly, and refuses one over it without writing anything', async () => {
      const store = getStore();
      await store.createJob(buildJob());
      const atLimit = buildJob();
      expect((await store.createJob(atLimit, admission({ concurrentJobs: 2 }))).created).toBe(true);

      const over = buildJob();
      const refused = store.createJob(over, admission({ concurrentJobs: 2 }));
      await expect(refused).rejects.toBeInstanceOf(QuotaExceededError);
      await expect(refused).rejects.toMatchObject({ quota: 'concurrentJobs', limit: 2, used: 2 });
      expect(await store.getJobs([over.id])).toEqual([null]);

      const { batch, children } = buildBatch(3);
      await expect(
        store.createBatch(batch, children, admission({ predictionsPerDay: 4 }, { jobs: 3, newJobs: 3, batchSize: 3 })),
      ).rejects.toMatchObject({ quota: 'predictionsPerDay', limit: 4, used: 2 });
      expect(await store.getBatches([batch.id])).toEqual([null]);
      expect(await store.getJobs(children.map((c) => c.id))).toEqual([null, null, null]);
      expect(await store.quotaUsage(alice, WINDOWS)).toMatchObject({ openJobs: 2, jobsToday: 2 });

      const fits = buildBatch(2);
      const { created } = await store.createBatch(
        fits.batch,
        fits.children,
        admission({ predictionsPerDay: 4 }, { jobs: 2, newJobs: 2, batchSize: 2 }),
      );
      expect(created).toBe(true);
    });

    it("refuses a submission whose estimated GPU time exceeds the month's remaining budget", async () => {
      const store = getStore();
      const done = buildJob();
      await store.createJob(done);
      await finish(store, done, gpu(60));
      // 60 used of 100: 40 more fit, 40.001 do not.
      await expect(
        store.createJob(buildJob(), admission({ gpuSecondsPerMonth: 100 }, { estimatedGpuMs: 40_001 })),
      ).rejects.toMatchObject({ quota: 'gpuSecondsPerMonth', limit: 100, used: 60 });
      expect(
        (await store.createJob(buildJob(), admission({ gpuSecondsPerMonth: 100 }, { estimatedGpuMs: 40_000 }))).created,
      ).toBe(true);
    });

    it('counts an open job at its estimate until it records more, and a finished one at what it recorded', async () => {
      const store = getStore();
      const usedMs = async () => (await store.quotaUsage(alice, WINDOWS)).gpuMsThisMonth;
      const job = buildJob({ estimatedGpuMs: 50_000 });
      await store.createJob(job);
      expect(await usedMs()).toBe(50_000); // PENDING: not run yet, counted at once
      await store.markQueued([job.id], at(1));
      const claim = await store.claim(job.id, at(2), 60_000);
      if (!claim.claimed) throw new Error(claim.reason);
      await store.release(job.id, claim.attempt, { code: 'X', message: 'x', retryable: true }, at(3), gpu(20));
      expect(await usedMs()).toBe(50_000); // 20 s recorded, less than the estimate
      const again = await store.claim(job.id, at(4), 60_000);
      if (!again.claimed) throw new Error(again.reason);
      await store.release(job.id, again.attempt, { code: 'X', message: 'x', retryable: true }, at(5), gpu(45));
      expect(await usedMs()).toBe(65_000); // 65 s recorded, more than the estimate
      const third = await store.claim(job.id, at(6), 60_000);
      if (!third.claimed) throw new Error(third.reason);
      await store.complete(job.id, third.attempt, buildResult(), at(7), gpu(1));
      expect(await usedMs()).toBe(66_000); // finished: what it recorded

      const cancelled = buildJob({ estimatedGpuMs: 9_000 });
      await store.createJob(cancelled);
      expect(await usedMs()).toBe(75_000);
      await store.cancelJob('alice', cancelled.id, at(8));
      expect(await usedMs()).toBe(66_000); // ended without running: nothing
    });

    it('refuses a second batch that fits only if the first, admitted but not yet run, were not counted', async () => {
      const store = getStore();
      const limits = { gpuSecondsPerMonth: 100 };
      const batchOf = (n: number, msEach: number) => {
        const built = buildBatch(n);
        for (const child of built.children) child.estimatedGpuMs = msEach;
        return built;
      };
      const first = batchOf(3, 20_000);
      const demand = (n: number, msEach: number) => ({ jobs: n, newJobs: n, batchSize: n, estimatedGpuMs: n * msEach });
      expect((await store.createBatch(first.batch, first.children, admission(limits, demand(3, 20_000)))).created).toBe(true);

      // 60 s reserved by the open batch: another 60 s would fit an empty month, not this one.
      const second = batchOf(3, 20_000);
      await expect(store.createBatch(second.batch, second.children, admission(limits, demand(3, 20_000)))).rejects.toMatchObject({
        quota: 'gpuSecondsPerMonth',
        limit: 100,
        used: 60,
      });
      expect(await store.getBatches([second.batch.id])).toEqual([null]);
      const fits = batchOf(2, 20_000);
      expect((await store.createBatch(fits.batch, fits.children, admission(limits, demand(2, 20_000)))).created).toBe(true);
      expect((await store.quotaUsage(alice, WINDOWS)).gpuMsThisMonth).toBe(100_000);
    });

    describe('retryFailed with an admission', () => {
      /** A batch of `size` children estimated at 10 s each, all FAILED after recording `recordedEach`. */
      async function failedBatch(store: JobStore, size: number, recordedEach: Usage) {
        const { batch, children } = buildBatch(size);
        for (const child of children) child.estimatedGpuMs = 10_000;
        await store.createBatch(batch, children);
        await store.markQueued(
          children.map((c) => c.id),
          at(1),
        );
        for (const child of children) {
          const claim = await store.claim(child.id, at(2), 60_000);
          if (!claim.claimed) throw new Error(claim.reason);
          await store.fail(child.id, claim.attempt, { code: 'BAD', message: 'bad', retryable: false }, at(3), recordedEach);
        }
        return batch;
      }
      const retryPass = (limits: Partial<QuotaLimits>) => ({
        windows: WINDOWS,
        subjects: [{ subject: alice, limits: { ...unlimited(), ...limits } }],
      });

      it('needs a place under concurrentJobs for each failed child, and changes nothing when refused', async () => {
        const store = getStore();
        const batch = await failedBatch(store, 3, gpu(1));
        await store.createJob(buildJob());
        const refused = store.retryFailed('alice', batch.id, at(10), retryPass({ concurrentJobs: 3 }));
        await expect(refused).rejects.toBeInstanceOf(QuotaExceededError);
        await expect(refused).rejects.toMatchObject({ quota: 'concurrentJobs', limit: 3, used: 1 });
        expect((await store.getBatches([batch.id]))[0]).toMatchObject({ status: 'FAILED', counts: { failed: 3, queued: 0 } });
        expect((await store.quotaUsage(alice, WINDOWS)).openJobs).toBe(1);

        // A retry submits nothing new: the daily quota does not count it.
        const { jobs } = await store.retryFailed(
          'alice',
          batch.id,
          at(11),
          retryPass({ concurrentJobs: 4, predictionsPerDay: 4 }),
        );
        expect(jobs).toHaveLength(3);
      });

      it("needs the failed children's GPU estimate on top of what they recorded, and counts it once admitted", async () => {
        const store = getStore();
        const batch = await failedBatch(store, 2, gpu(15)); // 30 s recorded, each over its 10 s estimate
        expect((await store.quotaUsage(alice, WINDOWS)).gpuMsThisMonth).toBe(30_000);
        // The retry runs both again: 20 s more. 49.999 s are not enough, 50 s are.
        await expect(
          store.retryFailed('alice', batch.id, at(10), retryPass({ gpuSecondsPerMonth: 49.999 })),
        ).rejects.toMatchObject({ quota: 'gpuSecondsPerMonth', used: 30 });
        expect((await store.getBatches([batch.id]))[0]?.counts.failed).toBe(2);
        await store.retryFailed('alice', batch.id, at(11), retryPass({ gpuSecondsPerMonth: 50 }));
        expect((await store.quotaUsage(alice, WINDOWS)).gpuMsThisMonth).toBe(50_000);
      });
    });

    it("checks an organization's limits as well as the user's, naming the organization's quota", async () => {
      const store = getStore();
      await store.createJob(buildJob({ owner: 'carol', organizationId: 'lab-a' }));
      const both: Admission = {
        windows: WINDOWS,
        subjects: [
          { subject: alice, limits: { ...unlimited(), concurrentJobs: 10 } },
          { subject: labA, limits: { ...unlimited(), concurrentJobs: 1 } },
        ],
        demand: { jobs: 1, newJobs: 1, batchSize: null, estimatedGpuMs: 0 },
      };
      await expect(store.createJob(buildJob({ organizationId: 'lab-a' }), both)).rejects.toMatchObject({
        quota: 'organization.concurrentJobs',
        limit: 1,
        used: 1,
      });
    });

    it('returns a repeated idempotency key without counting it against a quota', async () => {
      const store = getStore();
      const first = buildJob({ idempotencyKey: 'again' });
      await store.createJob(first);
      const replay = await store.createJob(buildJob({ idempotencyKey: 'again' }), admission({ concurrentJobs: 0 }));
      expect(replay).toEqual({ job: first, created: false });
    });
  });
}
