import type { ModelName, Parameters } from '../domain/job.js';
import {
  QUOTA_NAMES,
  admitBatchSize,
  hasAnyLimit,
  quotaWindows,
  spreadMs,
  type Admission,
  type RetryAdmission,
  type QuotaLimits,
  type QuotaName,
  type QuotaSubject,
  type QuotaUsage,
} from '../domain/quota.js';
import type { JobStore } from '../ports/job-store.js';
import { estimateBatchCost, type EstimateSettings } from './estimate-cost.js';

/** The limits of this deployment (`OMTX_QUOTA_*`, `OMTX_ORG_QUOTA_*`); unset is unlimited. */
export interface QuotaSettings {
  user: QuotaLimits;
  organization: QuotaLimits;
}

/** What the submission use cases need to apply quotas. */
export interface QuotaPolicy {
  limits: QuotaSettings;
  /** `estimateBatchCost`'s GPU-seconds for `ligandCount` ligands (0 for a CPU model). */
  estimateGpuSeconds(model: ModelName, ligandCount: number, parameters: Parameters, proteinLength: number | null): number;
}

/** The GPU-seconds `estimateBatchCost` gives a validated submission: the same model, shards and load per shard. */
export function gpuSecondsEstimator(settings: EstimateSettings): QuotaPolicy['estimateGpuSeconds'] {
  return (model, ligandCount, parameters, proteinLength) =>
    estimateBatchCost(settings, { model, ligandCount, parameters, proteinLength }).gpuSeconds;
}

/** Who submits: the user and, when they belong to one, their organization. */
export interface Submitter {
  owner: string;
  organizationId: string | null;
}

/**
 * Each job's estimated GPU time in whole milliseconds, stored on the job at submit so the
 * month's GPU count includes it until the job ends: `estimateBatchCost`'s GPU-seconds for the
 * whole submission (every ligand and each shard's model load), rounded up and shared out so
 * the shares add up to it. VINA uses no GPU: all 0.
 */
export function gpuEstimatesMs(
  policy: QuotaPolicy,
  submission: { model: ModelName; jobs: number; parameters: Parameters; proteinLength: number | null },
): number[] {
  if (submission.model === 'VINA') return new Array<number>(submission.jobs).fill(0);
  const seconds = policy.estimateGpuSeconds(submission.model, submission.jobs, submission.parameters, submission.proteinLength);
  return spreadMs(Math.ceil(seconds * 1000), submission.jobs);
}

/**
 * The subjects whose limits apply to `submitter`: the user, and their organization when they
 * belong to one; undefined when no limit applies, so an unlimited deployment counts nothing.
 */
export function retryAdmissionFor(policy: QuotaPolicy, submitter: Submitter, now: Date): RetryAdmission | undefined {
  const subjects: RetryAdmission['subjects'] = [];
  if (hasAnyLimit(policy.limits.user))
    subjects.push({ subject: { kind: 'user', id: submitter.owner }, limits: policy.limits.user });
  if (submitter.organizationId !== null && hasAnyLimit(policy.limits.organization)) {
    subjects.push({ subject: { kind: 'organization', id: submitter.organizationId }, limits: policy.limits.organization });
  }
  return subjects.length === 0 ? undefined : { windows: quotaWindows(now), subjects };
}

/**
 * Refuses a batch of `ligands` over a `batchSize` quota of the submitter (QuotaExceededError)
 * before anything is parsed or written. The store checks it again after `SKIP`.
 */
export function checkBatchSize(policy: QuotaPolicy, submitter: Submitter, ligands: number): void {
  admitBatchSize({ kind: 'user', id: submitter.owner }, policy.limits.user, ligands);
  if (submitter.organizationId !== null) {
    admitBatchSize({ kind: 'organization', id: submitter.organizationId }, policy.limits.organization, ligands);
  }
}

/**
 * The quota pass of a submission of `jobs` jobs (a batch: its size) estimated at
 * `estimatedGpuMs` in all, for the store to run in its write transaction; undefined when no
 * limit applies.
 */
export function admissionFor(
  policy: QuotaPolicy,
  submitter: Submitter,
  now: Date,
  submission: { jobs: number; batch: boolean; estimatedGpuMs: number },
): Admission | undefined {
  const pass = retryAdmissionFor(policy, submitter, now);
  if (!pass) return undefined;
  return {
    ...pass,
    demand: {
      jobs: submission.jobs,
      newJobs: submission.jobs,
      batchSize: submission.batch ? submission.jobs : null,
      estimatedGpuMs: submission.estimatedGpuMs,
    },
  };
}

/** One quota as `viewer.quotas` shows it. */
export interface QuotaStatus {
  name: QuotaName;
  scope: 'USER' | 'ORGANIZATION';
  /** Null: unlimited. */
  limit: number | null;
  /** Null for `batchSize`, a limit on each submission rather than a running total. */
  used: number | null;
  /** `limit − used`, at least 0; null when unlimited or for `batchSize`. */
  remaining: number | null;
  /** When `used` starts again from 0: the next UTC midnight or month; null for the others. */
  resetsAt: Date | null;
}

/** The viewer's quotas, and their organization's when they have one, with exact usage. */
export async function quotaStatuses(
  jobs: JobStore,
  limits: QuotaSettings,
  submitter: Submitter,
  now: Date,
): Promise<QuotaStatus[]> {
  const windows = quotaWindows(now);
  const scopes: { scope: QuotaStatus['scope']; subject: QuotaSubject; limits: QuotaLimits }[] = [
    { scope: 'USER', subject: { kind: 'user', id: submitter.owner }, limits: limits.user },
  ];
  if (submitter.organizationId !== null) {
    scopes.push({
      scope: 'ORGANIZATION',
      subject: { kind: 'organization', id: submitter.organizationId },
      limits: limits.organization,
    });
  }
  const usages = await Promise.all(scopes.map((s) => jobs.quotaUsage(s.subject, windows)));
  return scopes.flatMap(({ scope, limits: scoped }, i) =>
    QUOTA_NAMES.map((name): QuotaStatus => {
      const used = usedOf(name, usages[i]!);
      const limit = scoped[name];
      const resetsAt = name === 'predictionsPerDay' ? windows.dayEnd : name === 'gpuSecondsPerMonth' ? windows.monthEnd : null;
      const remaining = limit === null || used === null ? null : Math.max(0, limit - used);
      return { name, scope, limit, used, remaining, resetsAt };
    }),
  );
}

function usedOf(name: QuotaName, usage: QuotaUsage): number | null {
  switch (name) {
    case 'concurrentJobs':
      return usage.openJobs;
    case 'predictionsPerDay':
      return usage.jobsToday;
    case 'gpuSecondsPerMonth':
      return usage.gpuMsThisMonth / 1000;
    case 'batchSize':
      return null;
  }
}
