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
