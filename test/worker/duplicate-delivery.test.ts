import { describe, expect, it } from 'vitest';
import {
  dataDirsCleanedAfterAll,
  batchChildren,
  cheapVinaBatch,
  countByStatus,
  startOmtxApi,
  startOmtxWorker,
  storedArtifacts,
  submitBatch,
  waitForBatchEnd,
} from '../support/omtx-process.js';

// Task delivery is at least once (Cloud Tasks, the local dispatcher): the worker must turn a
// second delivery of a running or finished job into a 2xx no-op. Real processes: an
// `omtx worker` the test controls, and an api dispatching to it over the same data directory.

const newDataDir = dataDirsCleanedAfterAll();

interface TaskAnswer {
  status: number;
  body: { status: number; settled: number; skipped: number; retrying: number };
}

async function postTask(workerUrl: string, payload: { jobIds: string[]; batchId: string }, retry: number): Promise<TaskAnswer> {
  const response = await fetch(`${workerUrl}/tasks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-cloudtasks-taskname': 'duplicate-by-test',
      'x-cloudtasks-taskretrycount': String(retry),
    },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as TaskAnswer['body'] };
}

describe('the same task delivered more than once', () => {
  it('runs each job once: duplicates at once and five in a row are answered 2xx and skipped', async () => {
    const dataDir = newDataDir();
    // Four shards may run at once, so concurrent deliveries really race for the claims.
    const worker = await startOmtxWorker(dataDir, { OMTX_WORKER_CONCURRENCY: '4' });
    const api = await startOmtxApi(dataDir, { OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '4' });
    try {
      const batchId = await submitBatch(api, cheapVinaBatch('delivered twice', 3));
      const { jobs } = await batchChildren(api, batchId);
      const payload = { jobIds: jobs.map((j) => j.id), batchId };

      // Two more deliveries at once, racing the dispatcher's own.
      const atOnce = await Promise.all([postTask(worker.url, payload, 1), postTask(worker.url, payload, 2)]);
      const end = await waitForBatchEnd(api, batchId);
      expect(end.batch.status).toBe('COMPLETED');

      // Then five in a row, after everything finished.
      const inARow: TaskAnswer[] = [];
      for (let i = 0; i < 5; i++) inARow.push(await postTask(worker.url, payload, 3 + i));

      for (const answer of [...atOnce, ...inARow]) {
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(300);
        expect(answer.body.retrying).toBe(0);
      }
      for (const answer of inARow) expect(answer.body).toEqual({ status: 200, settled: 0, skipped: 3, retrying: 0 });

      // Eight deliveries in all (the dispatcher's, two at once, five in a row), one result per job.
      await worker.logs.until('eight tasks done', (records) => records.filter((r) => r.msg === 'task done').length >= 8);
      const tasksDone = worker.logs.withMessage('task done');
      expect(tasksDone).toHaveLength(8);
      expect(tasksDone.reduce((sum, r) => sum + (r.settled as number), 0)).toBe(3);
      expect(
        worker.logs.withMessage('result discarded: the attempt no longer holds the job (cancelled or taken over)'),
      ).toHaveLength(0);

      const final = await batchChildren(api, batchId);
      expect(final.batch.progress).toMatchObject({ total: 3, running: 0, queued: 0, completed: 3, failed: 0, cancelled: 0 });
      expect(countByStatus(final.jobs)).toMatchObject({ completed: 3 });
      const stored = storedArtifacts(dataDir, batchId);
      expect(stored.size).toBe(3);
      for (const job of final.jobs) {
        expect(job.attempts).toBe(1);
        expect(job.result!.artifacts.filter((a) => a.name === 'results.json')).toHaveLength(1);
        expect(stored.get(job.id)!.filter((name) => name === 'results.json')).toHaveLength(1);
      }
    } finally {
      await api.stop();
      await worker.stop();
    }
  }, 180_000);
});
