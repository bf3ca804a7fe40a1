import type { Batch, Job } from '../domain/job.js';
import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';
import { retryAdmissionFor, type Submitter } from './quotas.js';

/** Cancels a job not yet finished; a running attempt learns it when it reports back. */
export async function cancelJob(deps: ServiceDeps, owner: string, jobId: string): Promise<Job> {
  return deps.jobs.cancelJob(owner, jobId, deps.clock());
}

/** Cancels every child not yet finished; running shards stop between ligands. */
export async function cancelBatch(deps: ServiceDeps, owner: string, batchId: string): Promise<Batch> {
  return deps.jobs.cancelBatch(owner, batchId, deps.clock());
}

/**
 * Sends a batch's FAILED children round again, in new tasks, within the quotas of `submitter`
 * (the owner and their organization): the retried jobs need places under `concurrentJobs`
 * and their GPU estimate under `gpuSecondsPerMonth`; over a quota nothing changes.
 */
export async function retryFailedJobs(deps: ServiceDeps, submitter: Submitter, batchId: string): Promise<Batch> {
  const now = deps.clock();
  const admission = retryAdmissionFor(deps.quotas, submitter, now);
  const { batch, jobs } = await deps.jobs.retryFailed(submitter.owner, batchId, now, admission);
  await dispatchJobs(deps, jobs, `retry${now.getTime()}`);
  return batch;
}
