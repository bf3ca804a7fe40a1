import type { Batch, BatchStatus, JobStatus, StatusCounts } from './job.js';
import { InvalidTransitionError } from './errors.js';

/**
 * Job life: PENDING → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED.
 * Two edges go back: RUNNING → QUEUED when a transient fault or an expired lease gives the
 * job another attempt, and FAILED → QUEUED when a user retries a batch's failed jobs.
 * QUEUED → FAILED is the queue giving up: its task used every delivery attempt.
 */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  PENDING: ['QUEUED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['COMPLETED', 'FAILED', 'CANCELLED', 'QUEUED'],
  COMPLETED: [],
  FAILED: ['QUEUED'],
  CANCELLED: [],
};

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return NEXT[from].includes(to);
}

/** Throws `InvalidTransitionError` for an edge the machine does not have. */
export function assertTransition(jobId: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(jobId, from, to);
}

/**
 * A batch's status follows from its children's counts: RUNNING once any child has started,
 * and when every child has ended, CANCELLED if the user cancelled it, FAILED if no child
 * completed, else COMPLETED (failed children show in the counts). A batch that once started
 * stays RUNNING while its failed children are retried.
 */
export function batchStatusFrom(
  counts: StatusCounts,
  total: number,
  cancelRequested: boolean,
  startedBefore: boolean,
): BatchStatus {
  const ended = counts.completed + counts.failed + counts.cancelled;
  if (total > 0 && ended === total) {
    if (cancelRequested) return 'CANCELLED';
    return counts.completed === 0 ? 'FAILED' : 'COMPLETED';
  }
  const started = counts.running + ended;
  return started > 0 || startedBefore ? 'RUNNING' : 'PENDING';
}

export function isBatchTerminal(batch: Pick<Batch, 'status'>): boolean {
  return batch.status === 'COMPLETED' || batch.status === 'FAILED' || batch.status === 'CANCELLED';
}
