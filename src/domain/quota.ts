import { QuotaExceededError } from './errors.js';

/**
 * Quotas: how much one user (or one organization) may have running and may spend. Plain data
 * and pure functions: the stores read the usage inside their write transaction and call
 * `admit`, so the check and the write are one transaction.
 */

export const QUOTA_NAMES = ['concurrentJobs', 'predictionsPerDay', 'batchSize', 'gpuSecondsPerMonth'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** Each limit, or null for unlimited. */
export interface QuotaLimits {
  /** Jobs not yet finished (PENDING, QUEUED, RUNNING), batch children included. */
  concurrentJobs: number | null;
  /** Jobs submitted since 00:00 UTC, batch children included. */
  predictionsPerDay: number | null;
  /** Ligands in one batch (after `onInvalidLigand: SKIP` left the bad ones out). */
  batchSize: number | null;
  /**
   * GPU-seconds of jobs submitted since the 1st of the month, 00:00 UTC: recorded for a
   * finished job, the recorded or the estimated (whichever is more) for an open one.
   */
  gpuSecondsPerMonth: number | null;
}

export function unlimited(): QuotaLimits {
  return { concurrentJobs: null, predictionsPerDay: null, batchSize: null, gpuSecondsPerMonth: null };
}

export function hasAnyLimit(limits: QuotaLimits): boolean {
  return QUOTA_NAMES.some((name) => limits[name] !== null);
}

/** Whose usage: one user's records, or every record of one organization. */
export type QuotaSubject = { kind: 'user'; id: string } | { kind: 'organization'; id: string };

/** Where the day and the month began (UTC). */
export interface QuotaWindows {
  dayStart: Date;
  monthStart: Date;
}

/** A subject's usage as its store counts it, exactly. */
export interface QuotaUsage {
  openJobs: number;
  jobsToday: number;
  /**
   * Whole milliseconds of GPU time (as `Usage.gpuMs`) of this month's jobs: recorded for a
   * finished job; for an open one (PENDING, QUEUED, RUNNING) its estimate, or what it has
   * recorded when that is more, so a job admitted but not yet run counts at once.
   */
  gpuMsThisMonth: number;
}

/** What a submission (or a retry) would add. */
export interface QuotaDemand {
  /** Jobs it opens: places it needs under `concurrentJobs`. */
  jobs: number;
  /** Jobs it submits, counted by `predictionsPerDay`: a retry opens jobs but submits none. */
  newJobs: number;
  /** The batch's size; null for a single prediction or a retry. */
  batchSize: number | null;
  /** Whole milliseconds of GPU time it is estimated to use (`estimateBatchCost`; 0 for a CPU model). */
  estimatedGpuMs: number;
}

/**
 * A submission's pass through the quotas, handed to the store's create call: the store reads
 * each subject's usage in the same transaction as its write and calls `admit`, which throws
 * `QuotaExceededError` to refuse (then nothing is written).
 */
export interface Admission extends RetryAdmission {
  demand: QuotaDemand;
}

/**
 * The quota pass of `retryFailed`: the store knows the demand only inside its transaction
 * (the children FAILED then, and their stored GPU estimates), so it builds it there.
 */
export interface RetryAdmission {
  windows: QuotaWindows;
  subjects: { subject: QuotaSubject; limits: QuotaLimits }[];
}

/**
 * Splits `totalMs` over `jobs` jobs in whole milliseconds that add up to it exactly (the
 * first `totalMs % jobs` get one more): each job's share of a batch's estimate.
 */
export function spreadMs(totalMs: number, jobs: number): number[] {
  const each = Math.floor(totalMs / jobs);
  const extra = totalMs - each * jobs;
  return Array.from({ length: jobs }, (_, i) => each + (i < extra ? 1 : 0));
}

/** The UTC day and month that hold `now`, and when they end. */
export function quotaWindows(now: Date): QuotaWindows & { dayEnd: Date; monthEnd: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return {
    dayStart: new Date(Date.UTC(y, m, d)),
    dayEnd: new Date(Date.UTC(y, m, d + 1)),
    monthStart: new Date(Date.UTC(y, m, 1)),
    monthEnd: new Date(Date.UTC(y, m + 1, 1)),
  };
}

/**
 * Throws `QuotaExceededError` for the first limit `demand` would take `usage` over. At the
 * limit is allowed; one over is not. An organization's quotas are named `organization.<name>`.
 */
export function admit(subject: QuotaSubject, limits: QuotaLimits, usage: QuotaUsage, demand: QuotaDemand): void {
  const whose = subject.kind === 'user' ? 'you' : `organization ${subject.id}`;
  const name = (quota: QuotaName) => quotaName(subject, quota);
  if (demand.batchSize !== null) admitBatchSize(subject, limits, demand.batchSize);
  if (limits.concurrentJobs !== null && usage.openJobs + demand.jobs > limits.concurrentJobs) {
    throw new QuotaExceededError(
      `${whose} may have ${limits.concurrentJobs} jobs not yet finished; ${usage.openJobs} are, and this submission adds ${demand.jobs}`,
      name('concurrentJobs'),
      limits.concurrentJobs,
      usage.openJobs,
    );
  }
  // A retry submits nothing: it passes even a day already over its limit (an operator lowered it).
  const daily = limits.predictionsPerDay;
  if (daily !== null && demand.newJobs > 0 && usage.jobsToday + demand.newJobs > daily) {
    throw new QuotaExceededError(
      `${whose} may submit ${daily} predictions a day (UTC); ${usage.jobsToday} were today, and this submission adds ${demand.newJobs}`,
      name('predictionsPerDay'),
      daily,
      usage.jobsToday,
    );
  }
  const gpuLimit = limits.gpuSecondsPerMonth;
  // In whole milliseconds, so the comparison is exact: the limit may be a fraction of a second.
  if (gpuLimit !== null && demand.estimatedGpuMs > 0) {
    if (usage.gpuMsThisMonth + demand.estimatedGpuMs > Math.round(gpuLimit * 1000)) {
      const used = usage.gpuMsThisMonth / 1000;
      throw new QuotaExceededError(
        `${whose} may use ${gpuLimit} GPU-seconds a month; ${round(used)} are used or reserved by jobs not yet finished, and this submission is estimated at ${round(demand.estimatedGpuMs / 1000)}`,
        name('gpuSecondsPerMonth'),
        gpuLimit,
        used,
      );
    }
  }
}

/**
 * Throws `QuotaExceededError` when a batch of `size` ligands is over `limits.batchSize`. The
 * submission calls it first with the ligands as given, before any is parsed, so an oversized
 * batch costs nothing; `admit` calls it again with the ligands left after `SKIP`.
 */
export function admitBatchSize(subject: QuotaSubject, limits: QuotaLimits, size: number): void {
  if (limits.batchSize !== null && size > limits.batchSize) {
    throw new QuotaExceededError(
      `a batch may hold at most ${limits.batchSize} ligands; this one holds ${size}`,
      quotaName(subject, 'batchSize'),
      limits.batchSize,
      size,
    );
  }
}

function quotaName(subject: QuotaSubject, quota: QuotaName): string {
  return subject.kind === 'user' ? quota : `organization.${quota}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
