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
  /** GPU-seconds recorded on jobs submitted since the 1st of the month, 00:00 UTC. */
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
  /** Whole milliseconds of GPU time, as `Usage.gpuMs`. */
  gpuMsThisMonth: number;
}

/** What a submission would add. */
export interface QuotaDemand {
  jobs: number;
  /** The batch's size; null for a single prediction. */
  batchSize: number | null;
  /** `estimateBatchCost`'s GPU-seconds for it (0 for a CPU model). */
  estimatedGpuSeconds: number;
}

/**
 * A submission's pass through the quotas, handed to the store's create call: the store reads
 * each subject's usage in the same transaction as its write and calls `admit`, which throws
 * `QuotaExceededError` to refuse (then nothing is written).
 */
export interface Admission {
  windows: QuotaWindows;
  subjects: { subject: QuotaSubject; limits: QuotaLimits }[];
  demand: QuotaDemand;
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
  const name = (quota: QuotaName) => (subject.kind === 'user' ? quota : `organization.${quota}`);
  if (demand.batchSize !== null && limits.batchSize !== null && demand.batchSize > limits.batchSize) {
    throw new QuotaExceededError(
      `a batch may hold at most ${limits.batchSize} ligands; this one holds ${demand.batchSize}`,
      name('batchSize'),
      limits.batchSize,
      demand.batchSize,
    );
  }
  if (limits.concurrentJobs !== null && usage.openJobs + demand.jobs > limits.concurrentJobs) {
    throw new QuotaExceededError(
      `${whose} may have ${limits.concurrentJobs} jobs not yet finished; ${usage.openJobs} are, and this submission adds ${demand.jobs}`,
      name('concurrentJobs'),
      limits.concurrentJobs,
      usage.openJobs,
    );
  }
  if (limits.predictionsPerDay !== null && usage.jobsToday + demand.jobs > limits.predictionsPerDay) {
    throw new QuotaExceededError(
      `${whose} may submit ${limits.predictionsPerDay} predictions a day (UTC); ${usage.jobsToday} were today, and this submission adds ${demand.jobs}`,
      name('predictionsPerDay'),
      limits.predictionsPerDay,
      usage.jobsToday,
    );
  }
  const gpuLimit = limits.gpuSecondsPerMonth;
  if (gpuLimit !== null && demand.estimatedGpuSeconds > 0) {
    const used = usage.gpuMsThisMonth / 1000;
    if (used + demand.estimatedGpuSeconds > gpuLimit) {
      throw new QuotaExceededError(
        `${whose} may use ${gpuLimit} GPU-seconds a month; ${round(used)} are used and this submission is estimated at ${round(demand.estimatedGpuSeconds)}`,
        name('gpuSecondsPerMonth'),
        gpuLimit,
        used,
      );
    }
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
