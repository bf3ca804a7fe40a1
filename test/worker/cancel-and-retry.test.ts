import { describe, expect, it } from 'vitest';
import { BatchProgressDocument, CancelBatchDocument, RetryFailedJobsDocument } from '../../schema/__generated__/graphql.js';
import {
  dataDirsCleanedAfterAll,
  batchChildren,
  cheapVinaBatch,
  countByStatus,
  startOmtxApi,
  storedArtifacts,
  submitBatch,
  subscribe,
  waitForBatch,
  waitForBatchEnd,
} from '../support/omtx-process.js';

// Cancelling a batch while a shard runs, and retrying failed children, through the real
// processes (`omtx serve` and its worker) with real Vina.

const newDataDir = dataDirsCleanedAfterAll();

describe('cancelBatch while a shard runs', () => {
  it('cancels every unfinished child, stops the shard between ligands and ends the subscription on CANCELLED', async () => {
    const dataDir = newDataDir();
    const api = await startOmtxApi(dataDir, { OMTX_SHARD_SIZE: '4' });
    try {
      const batchId = await submitBatch(api, cheapVinaBatch('cancelled mid-run', 8));
      const progress = subscribe(api.wsClient(), BatchProgressDocument, { id: batchId });
      await waitForBatch(api, batchId, 'one child COMPLETED and one RUNNING', ({ jobs }) => {
        const counts = countByStatus(jobs);
        return counts.completed >= 1 && counts.running >= 1;
      });

      const cancelled = await api.request(CancelBatchDocument, { id: batchId });
      expect(cancelled.errors).toBeUndefined();
      const atCancel = cancelled.data!.cancelBatch;
      expect(atCancel.status).toBe('CANCELLED');
      const completedAtCancel = atCancel.progress.completed;
      expect(completedAtCancel).toBeGreaterThanOrEqual(1);
      expect(atCancel.progress).toMatchObject({
        total: 8,
        pending: 0,
        queued: 0,
        running: 0,
        failed: 0,
        cancelled: 8 - completedAtCancel,
      });

      // The subscription delivers the terminal state, then completes.
      const events = await progress.done;
      const last = events.at(-1)!.batchProgress;
      expect(last.batch.status).toBe('CANCELLED');
      expect(last.progress).toMatchObject({
        total: 8,
        running: 0,
        queued: 0,
        pending: 0,
        completed: completedAtCancel,
        cancelled: 8 - completedAtCancel,
      });

      // Both shards' tasks end: the running one after the ligand in flight, the waiting one at once.
      await api.logs.until('both tasks done', (records) => records.filter((r) => r.msg === 'task done').length >= 2);
      const { batch, jobs } = await batchChildren(api, batchId);
      expect(batch.status).toBe('CANCELLED');
      expect(batch.progress).toMatchObject({
        total: 8,
        pending: 0,
        queued: 0,
        running: 0,
        completed: completedAtCancel,
        failed: 0,
        cancelled: 8 - completedAtCancel,
      });
      expect(countByStatus(jobs)).toEqual({
        pending: 0,
        queued: 0,
        running: 0,
        completed: completedAtCancel,
        failed: 0,
        cancelled: 8 - completedAtCancel,
      });

      // Ligands after the cancel never ran, and the one Vina was docking when the cancel came
      // is discarded without files: result files exist for the finished ligands only.
      const stored = storedArtifacts(dataDir, batchId);
      const docked = jobs.filter((j) => stored.get(j.id)?.includes('results.json'));
      expect(docked).toEqual(jobs.filter((j) => j.status === 'COMPLETED'));
      const discarded = api.logs.withMessage('result discarded: the attempt no longer holds the job (cancelled or taken over)');
      expect(discarded.length).toBeLessThanOrEqual(1);
      for (const { jobId } of discarded) expect(jobs.find((j) => j.id === jobId)?.status).toBe('CANCELLED');
      // The other shard never started: every finished ligand is in the first one.
      const started = new Set(docked.map((j) => Math.floor(j.batchIndex! / 4)));
      expect(started.size).toBeLessThanOrEqual(1);
    } finally {
      await api.stop();
    }
  }, 180_000);
});

describe('retryFailedJobs', () => {
  it('sends children that ran past the Vina time limit round again, and they complete once the limit is raised', async () => {
    const dataDir = newDataDir();
    // A 24 Å box searched with exhaustiveness 4 takes Vina well over a second.
    const input = { ...cheapVinaBatch('past the time limit', 2), parameters: { exhaustiveness: 4, numPoses: 1 } };
    input.protein = { ...input.protein, pocket: { center: input.protein.pocket!.center, size: [24, 24, 24] } };

    const strict = await startOmtxApi(dataDir, { OMTX_SHARD_SIZE: '4', OMTX_VINA_TIME_LIMIT_SECONDS: '1' });
    let batchId: string;
    try {
      batchId = await submitBatch(strict, input);
      const { batch, jobs } = await waitForBatchEnd(strict, batchId);
      expect(batch.status).toBe('FAILED');
      expect(batch.progress).toMatchObject({ total: 2, running: 0, queued: 0, completed: 0, failed: 2 });
      for (const job of jobs) {
        expect(job.attempts).toBe(1);
        expect(job.error).toMatchObject({ code: 'TIME_LIMIT', retryable: false });
        expect(job.error!.message).toMatch(
          /^docking: Vina ran past the 1 s limit per ligand \(exhaustiveness 4, \d+ rotatable bonds\)/,
        );
        expect(job.error!.message).toMatch(/lower the exhaustiveness or dock a smaller, more rigid ligand$/);
      }
    } finally {
      await strict.stop();
    }

    // The operator raises the limit; the same data directory, a new api and worker.
    const relaxed = await startOmtxApi(dataDir, { OMTX_SHARD_SIZE: '4', OMTX_VINA_TIME_LIMIT_SECONDS: '600' });
    try {
      const retried = await relaxed.request(RetryFailedJobsDocument, { batchId });
      expect(retried.errors).toBeUndefined();
      expect(retried.data!.retryFailedJobs.status).toBe('RUNNING');
      expect(retried.data!.retryFailedJobs.progress).toMatchObject({ total: 2, failed: 0, completed: 0, cancelled: 0 });
      expect(retried.data!.retryFailedJobs.progress.queued + retried.data!.retryFailedJobs.progress.running).toBe(2);

      const { batch, jobs } = await waitForBatchEnd(relaxed, batchId);
      expect(batch.status).toBe('COMPLETED');
      expect(batch.progress).toMatchObject({
        total: 2,
        pending: 0,
        queued: 0,
        running: 0,
        completed: 2,
        failed: 0,
        cancelled: 0,
      });
      for (const job of jobs) {
        expect(job.status).toBe('COMPLETED');
        expect(job.attempts).toBe(2);
        expect(job.error).toBeNull();
        expect(job.result!.affinity!.value).toBeLessThan(-0.5);
      }
    } finally {
      await relaxed.stop();
    }
  }, 240_000);
});
