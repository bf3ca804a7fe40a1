import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';
import type { Job, JobError } from '../domain/job.js';

export interface ReaperOptions {
  /** @default 5_000 // 5 seconds */
  intervalMs?: number;
  /** A PENDING job older than this lost its enqueue (a crash between store and queue). @default 30_000 // 30 seconds */
  pendingGraceMs?: number;
  /**
   * A job QUEUED this long without a change has likely lost its task: it is sent again in a
   * new one (a duplicate is harmless, claims make it a no-op). Longer than a dispatch
   * deadline plus the longest backoff. @default 900_000 // 15 minutes
   */
  queuedGraceMs?: number;
  /**
   * A job QUEUED this long without a change fails with DISPATCH_FAILED (retryable) instead of
   * being sent again: its tasks keep not reaching the worker (Cloud Tasks drops a task after
   * its last attempt without telling anyone; a worker refusing every call, e.g. on an IAM
   * mistake, never touches the job). Longer than the queue's whole retry span (100 attempts
   * at up to 10 minutes apart, deploy/terraform/queue-settings.json). Children of a batch
   * with `maxConcurrent` are exempt: they may wait their turn that long.
   * @default 86_400_000 // 24 hours
   */
  queuedAbandonMs?: number;
  /** @default 500 */
  batchLimit?: number;
}

function neverDispatched(abandonMs: number): JobError {
  const hours = Math.round((abandonMs / 3_600_000) * 10) / 10;
  return {
    code: 'DISPATCH_FAILED',
    message: `the task queue did not get this job to a worker in ${hours} hours; retry it once the worker is reachable`,
    retryable: true,
  };
}

/**
 * Keeps jobs from getting stuck: RUNNING jobs whose lease expired (their worker died) go
 * back to QUEUED in a new task, PENDING jobs whose enqueue never happened are enqueued, and
 * jobs QUEUED for long without a change are sent again, or after a day fail for good.
 */
export async function reapOnce(deps: ServiceDeps, options: ReaperOptions = {}): Promise<number> {
  const now = deps.clock();
  const limit = options.batchLimit ?? 500;
  const expired = await deps.jobs.requeueExpired(now, limit);
  await dispatchJobs(deps, expired, `lease${now.getTime()}`);
  const stale = await deps.jobs.listStalePending(new Date(now.getTime() - (options.pendingGraceMs ?? 30_000)), limit);
  await dispatchJobs(deps, stale, 'r0');
  const queuedGraceMs = options.queuedGraceMs ?? 900_000;
  const lost = await deps.jobs.listStaleQueued(new Date(now.getTime() - queuedGraceMs), limit);
  const abandonMs = options.queuedAbandonMs ?? 86_400_000;
  const { givenUp, resend } = await splitLost(deps, lost, new Date(now.getTime() - abandonMs));
  if (givenUp.length > 0) await deps.jobs.abandon(givenUp, neverDispatched(abandonMs), now);
  // One name per grace window: sweeps inside a window de-duplicate instead of piling up tasks.
  await dispatchJobs(deps, resend, `stale${Math.floor(now.getTime() / queuedGraceMs)}`);
  return expired.length + stale.length + lost.length;
}

/** Long-QUEUED jobs to fail for good (unchanged since before `abandonBefore`) and to send again. */
async function splitLost(deps: ServiceDeps, lost: Job[], abandonBefore: Date): Promise<{ givenUp: string[]; resend: Job[] }> {
  const batchIds = [...new Set(lost.flatMap((job) => (job.batchId === null ? [] : [job.batchId])))];
  const batches = new Map((await deps.jobs.getBatches(batchIds)).flatMap((b) => (b === null ? [] : [[b.id, b] as const])));
  const givenUp: string[] = [];
  const resend: Job[] = [];
  for (const job of lost) {
    const throttled = job.batchId !== null && (batches.get(job.batchId)?.maxConcurrent ?? null) !== null;
    if (!throttled && job.updatedAt < abandonBefore) givenUp.push(job.id);
    else resend.push(job);
  }
  return { givenUp, resend };
}

/** Runs `reapOnce` every `intervalMs` until the returned stop function is called. */
export function startReaper(deps: ServiceDeps, options: ReaperOptions, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = reapOnce(deps, options).catch(onError);
  }, options.intervalMs ?? 5_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
