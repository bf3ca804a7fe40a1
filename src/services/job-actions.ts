import type { Batch, Job } from '../domain/job.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';

/** Cancels a job not yet finished; a running attempt learns it when it reports back. */
export async function cancelJob(deps: ServiceDeps, owner: string, jobId: string): Promise<Job> {
  return deps.jobs.cancelJob(owner, jobId, deps.clock());
}

/** Cancels every child not yet finished; running shards stop between ligands. */
export async function cancelBatch(deps: ServiceDeps, owner: string, batchId: string): Promise<Batch> {
  return deps.jobs.cancelBatch(owner, batchId, deps.clock());
}

/** Sends a batch's FAILED children round again, in new tasks. */
export async function retryFailedJobs(deps: ServiceDeps, owner: string, batchId: string): Promise<Batch> {
  const now = deps.clock();
  const { batch, jobs } = await deps.jobs.retryFailed(owner, batchId, now);
  await dispatchJobs(deps, jobs, `retry${now.getTime()}`);
  return batch;
}
