import type { ServiceDeps } from './deps.js';
import { dispatchJobs } from './dispatch.js';

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
  /** @default 500 */
  batchLimit?: number;
}

/**
 * Keeps jobs from getting stuck: RUNNING jobs whose lease expired (their worker died) go
 * back to QUEUED in a new task, and PENDING jobs whose enqueue never happened are enqueued.
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
  // One name per grace window: sweeps inside a window de-duplicate instead of piling up tasks.
  await dispatchJobs(deps, lost, `stale${Math.floor(now.getTime() / queuedGraceMs)}`);
  return expired.length + stale.length + lost.length;
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
