import type { Job } from './job.js';

/** Where a job's files live (DESIGN.md's layout): `batches/{batch}/jobs/{job}/…` or `jobs/{job}/…`. */
export function artifactKey(job: Pick<Job, 'id' | 'batchId'>, name: string): string {
  return job.batchId === null ? `jobs/${job.id}/${name}` : `batches/${job.batchId}/jobs/${job.id}/${name}`;
}

/**
 * The log of the job's latest attempt that failed (for good, or to be retried): kept apart
 * from the result's files so a later successful attempt's `log.txt` does not replace it.
 */
export function failureLogKey(job: Pick<Job, 'id' | 'batchId'>): string {
  return artifactKey(job, 'failed-attempt/log.txt');
}

/**
 * The worker's last report of what it can run (`GET /models`' body), written when it starts
 * on Google Cloud: the api reads it there instead of calling a GPU service that scales to
 * zero (a call would start an L4 instance, and needs an ID token).
 */
export const WORKER_MODELS_KEY = 'service/worker-models.json';
