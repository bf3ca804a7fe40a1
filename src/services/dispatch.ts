import type { Job } from '../domain/job.js';
import type { TaskRequest } from '../ports/task-queue.js';
import type { ServiceDeps } from './deps.js';

/**
 * Hands jobs to the queue and marks them QUEUED. Batch children go in shards of
 * `shardSize` (a task carries ids, never inputs); an individual job goes alone. Task names
 * are derived from the jobs and `round`, so enqueueing the same round twice (a retried
 * submission, the stale-PENDING sweep) de-duplicates instead of running twice.
 */
export async function dispatchJobs(
  deps: Pick<ServiceDeps, 'queue' | 'jobs' | 'clock' | 'shardSize'>,
  jobs: Job[],
  round: string,
): Promise<void> {
  if (jobs.length === 0) return;
  const tasks: TaskRequest[] = [];
  const byBatch = new Map<string | null, Job[]>();
  for (const job of jobs) {
    const group = byBatch.get(job.batchId) ?? [];
    group.push(job);
    byBatch.set(job.batchId, group);
  }
  for (const [batchId, group] of byBatch) {
    if (batchId === null) {
      for (const job of group) tasks.push({ name: `job-${job.id}-${round}`, payload: { jobIds: [job.id], batchId: null } });
      continue;
    }
    for (let start = 0; start < group.length; start += deps.shardSize) {
      const shard = group.slice(start, start + deps.shardSize);
      const first = shard[0]!;
      tasks.push({
        name: `batch-${batchId}-${round}-${first.batchIndex ?? first.id}`,
        payload: { jobIds: shard.map((j) => j.id), batchId },
      });
    }
  }
  await deps.queue.enqueue(tasks);
  await deps.jobs.markQueued(
    jobs.map((j) => j.id),
    deps.clock(),
  );
}
