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
    demand: { jobs: 1, batchSize: null, estimatedGpuSeconds: 0, ...demand },
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
        store.createBatch(batch, children, admission({ predictionsPerDay: 4 }, { jobs: 3, batchSize: 3 })),
      ).rejects.toMatchObject({ quota: 'predictionsPerDay', limit: 4, used: 2 });
      expect(await store.getBatches([batch.id])).toEqual([null]);
      expect(await store.getJobs(children.map((c) => c.id))).toEqual([null, null, null]);
      expect(await store.quotaUsage(alice, WINDOWS)).toMatchObject({ openJobs: 2, jobsToday: 2 });

      const fits = buildBatch(2);
      const { created } = await store.createBatch(
        fits.batch,
        fits.children,
        admission({ predictionsPerDay: 4 }, { jobs: 2, batchSize: 2 }),
      );
      expect(created).toBe(true);
    });

    it("refuses a submission whose estimated GPU time exceeds the month's remaining budget", async () => {
      const store = getStore();
      const done = buildJob();
      await store.createJob(done);
      await finish(store, done, gpu(60));
      // 60 used of 100: 40 more fit, 40.5 do not.
      expect(
        (await store.createJob(buildJob(), admission({ gpuSecondsPerMonth: 100 }, { estimatedGpuSeconds: 40 }))).created,
      ).toBe(true);
      await expect(
        store.createJob(buildJob(), admission({ gpuSecondsPerMonth: 100 }, { estimatedGpuSeconds: 40.5 })),
      ).rejects.toMatchObject({ quota: 'gpuSecondsPerMonth', limit: 100, used: 60 });
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
        demand: { jobs: 1, batchSize: null, estimatedGpuSeconds: 0 },
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
