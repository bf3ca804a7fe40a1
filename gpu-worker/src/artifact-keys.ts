import type { Job } from '../../src/domain/job.js';

/** Where a job's files live (DESIGN.md's layout): `batches/{batch}/jobs/{job}/…` or `jobs/{job}/…`. */
export function artifactKey(job: Pick<Job, 'id' | 'batchId'>, name: string): string {
  return job.batchId === null ? `jobs/${job.id}/${name}` : `batches/${job.batchId}/jobs/${job.id}/${name}`;
}
