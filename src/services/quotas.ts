import type { ModelName, Parameters } from '../domain/job.js';
import {
  QUOTA_NAMES,
  hasAnyLimit,
  quotaWindows,
  type Admission,
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
 * The quota pass of a submission of `jobs` jobs (a batch: its size), for the store to run in
 * its write transaction; undefined when no limit applies, so an unlimited deployment counts
 * nothing. The GPU estimate is only computed when a GPU limit applies.
 */
export function admissionFor(
  policy: QuotaPolicy,
  submitter: Submitter,
  now: Date,
  submission: { model: ModelName; jobs: number; batch: boolean; parameters: Parameters; proteinLength: number | null },
): Admission | undefined {
  const subjects: Admission['subjects'] = [];
  if (hasAnyLimit(policy.limits.user))
    subjects.push({ subject: { kind: 'user', id: submitter.owner }, limits: policy.limits.user });
  if (submitter.organizationId !== null && hasAnyLimit(policy.limits.organization)) {
    subjects.push({ subject: { kind: 'organization', id: submitter.organizationId }, limits: policy.limits.organization });
  }
  if (subjects.length === 0) return undefined;
  const gpuLimited = subjects.some((s) => s.limits.gpuSecondsPerMonth !== null);
  return {
    windows: quotaWindows(now),
    subjects,
    demand: {
      jobs: submission.jobs,
      batchSize: submission.batch ? submission.jobs : null,
      estimatedGpuSeconds: gpuLimited
        ? policy.estimateGpuSeconds(submission.model, submission.jobs, submission.parameters, submission.proteinLength)
        : 0,
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
