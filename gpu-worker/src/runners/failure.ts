import type { JobError } from '../../../src/domain/job.js';

/**
 * Thrown inside a runner's pipeline to end one ligand (or the shard) with `error`; the
 * runner catches it and reports the error as the ligand's outcome.
 */
export class RunnerFailure extends Error {
  constructor(readonly error: JobError) {
    super(`${error.code}: ${error.message}`);
  }
}

/** A bad input: the same input fails the same way on every attempt. */
export function inputFailure(code: string, message: string): RunnerFailure {
  return new RunnerFailure({ code, message, retryable: false });
}

/** A fault of this machine or moment: another attempt may succeed. */
export function transientFailure(code: string, message: string): RunnerFailure {
  return new RunnerFailure({ code, message, retryable: true });
}

// Errors of the machine rather than of the input: a full disk, too many open files, no memory.
const TRANSIENT_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'ENOMEM', 'EIO', 'EAGAIN', 'EBUSY']);

/** The JobError for anything a runner's pipeline threw. */
export function toJobError(thrown: unknown): JobError {
  if (thrown instanceof RunnerFailure) return thrown.error;
  const code = (thrown as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && TRANSIENT_ERRNO.has(code)) {
    return {
      code: 'WORKER_RESOURCES',
      message: `the worker ran out of a resource (${code}); the job will be retried`,
      retryable: true,
    };
  }
  // Unknown: most likely a worker bug or a fault of this machine. Retrying is bounded by the
  // queue's attempt limit, so prefer a retry over failing a good input for good.
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return { code: 'RUNNER_INTERNAL', message: `internal error while running the model: ${message}`, retryable: true };
}
