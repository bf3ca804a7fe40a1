import { z } from 'zod';
import type { QuotaLimits } from '../domain/quota.js';
import type { QuotaSettings } from './quotas.js';

const count = () => z.coerce.number().int().min(0).max(1_000_000_000).optional();
const seconds = () => z.coerce.number().min(0).max(1e12).optional();

/**
 * Quota settings, spread into the configuration schema (`src/config.ts`). Unset means
 * unlimited (the embedded default sets none); 0 refuses every submission the quota covers.
 */
export const quotaEnv = {
  /** Jobs not yet finished (PENDING, QUEUED, RUNNING) per user, batch children included. */
  OMTX_QUOTA_CONCURRENT_JOBS: count(),
  /** Jobs submitted per user per UTC day, batch children included. */
  OMTX_QUOTA_PREDICTIONS_PER_DAY: count(),
  /** Ligands in one batch. */
  OMTX_QUOTA_MAX_BATCH_SIZE: count(),
  /** GPU-seconds per user per UTC calendar month (jobs submitted that month, estimated at submit). */
  OMTX_QUOTA_GPU_SECONDS_PER_MONTH: seconds(),
  /** The same four for each organization, over all its members' jobs. */
  OMTX_ORG_QUOTA_CONCURRENT_JOBS: count(),
  OMTX_ORG_QUOTA_PREDICTIONS_PER_DAY: count(),
  OMTX_ORG_QUOTA_MAX_BATCH_SIZE: count(),
  OMTX_ORG_QUOTA_GPU_SECONDS_PER_MONTH: seconds(),
};

type QuotaEnv = z.infer<z.ZodObject<typeof quotaEnv>>;

export function quotaSettingsFrom(c: QuotaEnv): QuotaSettings {
  const limits = (prefix: 'OMTX_QUOTA_' | 'OMTX_ORG_QUOTA_'): QuotaLimits => ({
    concurrentJobs: c[`${prefix}CONCURRENT_JOBS`] ?? null,
    predictionsPerDay: c[`${prefix}PREDICTIONS_PER_DAY`] ?? null,
    batchSize: c[`${prefix}MAX_BATCH_SIZE`] ?? null,
    gpuSecondsPerMonth: c[`${prefix}GPU_SECONDS_PER_MONTH`] ?? null,
  });
  return { user: limits('OMTX_QUOTA_'), organization: limits('OMTX_ORG_QUOTA_') };
}
