import { describe, expect, it } from 'vitest';
import {
  dataDirsCleanedAfterAll,
  batchChildren,
  cheapVinaBatch,
  countByStatus,
  startOmtxApi,
  storedArtifacts,
  submitBatch,
  waitFor,
  waitForBatch,
  waitForBatchEnd,
} from '../support/omtx-process.js';

// Real processes: `omtx serve` supervising its `omtx worker` child, real Vina. The worker is
// killed with SIGKILL in the middle of a shard, as the OOM killer or a lost VM would.

const newDataDir = dataDirsCleanedAfterAll();

describe('a worker killed in the middle of a shard', () => {
  it('loses no job: each ends exactly once, the counters are exact and the supervisor starts a new worker', async () => {
    const dataDir = newDataDir();
    const api = await startOmtxApi(dataDir, {
      OMTX_SHARD_SIZE: '4',
      OMTX_LEASE_SECONDS: '5', // the api's minimum; the worker renews every third of it
      OMTX_REAPER_INTERVAL_SECONDS: '0.5',
    });
    try {
      const batchId = await submitBatch(api, cheapVinaBatch('killed worker', 8));

      // Mid-shard: one ligand done, the rest of its shard claimed (RUNNING) and not yet run.
      const before = await waitForBatch(api, batchId, 'one child COMPLETED and one RUNNING', ({ jobs }) => {
        const counts = countByStatus(jobs);
        return counts.completed >= 1 && counts.running >= 1;
      });
      const firstWorker = api.workerPid();
      expect(firstWorker).toBeDefined();
      process.kill(firstWorker!, 'SIGKILL');
      // Once the api has reaped it, nothing more can come from the killed worker; the new
      // one starts 500 ms later and first has to load, so this snapshot is what it left.
      await waitFor('the killed worker to be gone', () => api.workerPid() !== firstWorker);
      const atKill = (await batchChildren(api, batchId)).jobs;
      const doneAtKill = atKill.filter((j) => j.status === 'COMPLETED');
      const runningAtKill = atKill.filter((j) => j.status === 'RUNNING');
      expect(doneAtKill.length).toBeGreaterThanOrEqual(before.jobs.filter((j) => j.status === 'COMPLETED').length);
      expect(runningAtKill.length).toBeGreaterThanOrEqual(1);

      const secondWorker = await api.waitForWorkerPid(firstWorker);
      expect(secondWorker).not.toBe(firstWorker);
      expect(api.logs.withMessage('worker exited; starting it again')).toHaveLength(1);

      const end = await waitForBatchEnd(api, batchId, 180_000);
      expect(end.batch.status).toBe('COMPLETED');
      expect(end.batch.progress).toMatchObject({
        total: 8,
        pending: 0,
        queued: 0,
        running: 0,
        completed: 8,
        failed: 0,
        cancelled: 0,
      });
      // The counters are the children, not a drifting tally.
      expect(countByStatus(end.jobs)).toEqual({ pending: 0, queued: 0, running: 0, completed: 8, failed: 0, cancelled: 0 });

      const stored = storedArtifacts(dataDir, batchId);
      for (const job of end.jobs) {
        expect(job.status).toBe('COMPLETED');
        expect(job.attempts).toBeGreaterThanOrEqual(1);
        expect(job.error).toBeNull();
        expect(job.result?.affinity?.unit).toBe('KCAL_PER_MOL');
        expect(job.result!.artifacts.filter((a) => a.name === 'results.json')).toHaveLength(1);
        expect(stored.get(job.id)).toContain('results.json');
      }
      // Finished before the kill: not run again (same attempt, same completion time).
      for (const done of doneAtKill) {
        const now = end.jobs.find((j) => j.id === done.id)!;
        expect({ attempts: now.attempts, completedAt: now.completedAt }).toEqual({
          attempts: done.attempts,
          completedAt: done.completedAt,
        });
      }
      // Claimed by the killed worker: taken over by a later attempt once the lease expired.
      for (const lost of runningAtKill) {
        expect(end.jobs.find((j) => j.id === lost.id)!.attempts).toBeGreaterThanOrEqual(2);
      }
      expect(api.workerPid()).toBe(secondWorker);
    } finally {
      await api.stop();
    }
  }, 240_000);
});
