import type { Batch, StatusCounts } from '../domain/job.js';

export interface BatchProgress extends StatusCounts {
  total: number;
  percent: number;
  etaSeconds: number | null;
}

/**
 * Progress from a batch's counters. The ETA assumes the rate of ended children since the
 * batch started holds for the rest: rough, but honest about being unknown (null) until
 * something has ended, and 0 once everything has.
 */
export function batchProgress(batch: Batch, now: Date): BatchProgress {
  const { counts, total } = batch;
  const ended = counts.completed + counts.failed + counts.cancelled;
  const remaining = total - ended;
  let etaSeconds: number | null = null;
  if (remaining === 0) etaSeconds = 0;
  else if (ended > 0 && batch.startedAt) {
    const elapsed = (now.getTime() - batch.startedAt.getTime()) / 1000;
    etaSeconds = (elapsed / ended) * remaining;
  }
  return { total, ...counts, percent: total === 0 ? 100 : (100 * ended) / total, etaSeconds };
}
