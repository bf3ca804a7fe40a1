import type { Batch, Job, JobError, Ligand, Parameters, Protein, Usage } from '../../../domain/job.js';

/** A `jobs` row as better-sqlite3 returns it. */
export interface JobRow {
  id: string;
  owner: string;
  kind: string;
  model: string;
  name: string | null;
  status: string;
  ligand: string;
  protein: string | null;
  parameters: string;
  batch_id: string | null;
  batch_index: number | null;
  result: string | null;
  error: string | null;
  affinity: number | null;
  confidence: number | null;
  attempts: number;
  attempts_before_retry: number;
  lease_expires_at: number | null;
  /** All three null until an attempt reports usage. */
  usage_runtime_ms: number | null;
  usage_gpu_ms: number | null;
  usage_cost_nano_usd: number | null;
  /** `Job.estimatedGpuMs`. */
  estimate_gpu_ms: number;
  organization_id: string | null;
  /** 1 when members of `organization_id` may read it. */
  shared_with_org: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
  idempotency_key: string | null;
}

export interface BatchRow {
  id: string;
  owner: string;
  name: string;
  model: string;
  status: string;
  protein: string;
  parameters: string;
  max_concurrent: number | null;
  total: number;
  pending: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  cancel_requested: number;
  affinity_count: number;
  affinity_sum: number;
  affinity_best: number | null;
  usage_runtime_ms: number;
  usage_gpu_ms: number;
  usage_cost_nano_usd: number;
  webhook_url: string | null;
  organization_id: string | null;
  shared_with_org: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
  idempotency_key: string | null;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());

/**
 * Defines `key` on `target` as a value parsed from JSON on first read. A page of jobs rarely
 * reads every job's protein (a receptor can be megabytes) or full result, and parsing them
 * all was most of a page's cost; spreading the object still reads them.
 */
function lazyJson<T extends object>(target: T, key: keyof T, text: string | null): void {
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get() {
      const value: unknown = text === null ? null : JSON.parse(text);
      Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
      return value;
    },
  });
}

export function jobFromRow(r: JobRow): Job {
  const job: Job = {
    id: r.id,
    owner: r.owner,
    kind: r.kind as Job['kind'],
    model: r.model as Job['model'],
    name: r.name,
    status: r.status as Job['status'],
    ligand: null as unknown as Ligand,
    protein: null,
    parameters: JSON.parse(r.parameters) as Parameters,
    batchId: r.batch_id,
    batchIndex: r.batch_index,
    result: null,
    error: r.error === null ? null : (JSON.parse(r.error) as JobError),
    attempts: r.attempts,
    attemptsBeforeRetry: r.attempts_before_retry,
    leaseExpiresAt: date(r.lease_expires_at),
    usage:
      r.usage_runtime_ms === null
        ? null
        : { runtimeMs: r.usage_runtime_ms, gpuMs: r.usage_gpu_ms!, costNanoUsd: r.usage_cost_nano_usd! },
    estimatedGpuMs: r.estimate_gpu_ms,
    organizationId: r.organization_id,
    sharedWithOrganization: r.shared_with_org === 1,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    idempotencyKey: r.idempotency_key,
  };
  lazyJson(job, 'ligand', r.ligand);
  lazyJson(job, 'protein', r.protein);
  lazyJson(job, 'result', r.result);
  return job;
}

export function jobToRow(j: Job): JobRow {
  return {
    id: j.id,
    owner: j.owner,
    kind: j.kind,
    model: j.model,
    name: j.name,
    status: j.status,
    ligand: JSON.stringify(j.ligand),
    protein: j.protein === null ? null : JSON.stringify(j.protein),
    parameters: JSON.stringify(j.parameters),
    batch_id: j.batchId,
    batch_index: j.batchIndex,
    result: j.result === null ? null : JSON.stringify(j.result),
    error: j.error === null ? null : JSON.stringify(j.error),
    affinity: j.result?.affinity?.value ?? null,
    confidence: j.result?.confidence?.score ?? null,
    attempts: j.attempts,
    attempts_before_retry: j.attemptsBeforeRetry,
    lease_expires_at: ms(j.leaseExpiresAt),
    ...usageColumns(j.usage),
    estimate_gpu_ms: j.estimatedGpuMs,
    organization_id: j.organizationId,
    shared_with_org: j.sharedWithOrganization ? 1 : 0,
    created_at: j.createdAt.getTime(),
    updated_at: j.updatedAt.getTime(),
    started_at: ms(j.startedAt),
    completed_at: ms(j.completedAt),
    idempotency_key: j.idempotencyKey,
  };
}

export function batchFromRow(r: BatchRow): Batch {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    model: r.model as Batch['model'],
    status: r.status as Batch['status'],
    protein: JSON.parse(r.protein) as Protein,
    parameters: JSON.parse(r.parameters) as Parameters,
    maxConcurrent: r.max_concurrent,
    total: r.total,
    counts: {
      pending: r.pending,
      queued: r.queued,
      running: r.running,
      completed: r.completed,
      failed: r.failed,
      cancelled: r.cancelled,
    },
    cancelRequested: r.cancel_requested === 1,
    usage: { runtimeMs: r.usage_runtime_ms, gpuMs: r.usage_gpu_ms, costNanoUsd: r.usage_cost_nano_usd },
    webhookUrl: r.webhook_url,
    organizationId: r.organization_id,
    sharedWithOrganization: r.shared_with_org === 1,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    idempotencyKey: r.idempotency_key,
  };
}

export function batchToRow(b: Batch): Omit<BatchRow, 'affinity_count' | 'affinity_sum' | 'affinity_best'> {
  return {
    id: b.id,
    owner: b.owner,
    name: b.name,
    model: b.model,
    status: b.status,
    protein: JSON.stringify(b.protein),
    parameters: JSON.stringify(b.parameters),
    max_concurrent: b.maxConcurrent,
    total: b.total,
    ...b.counts,
    cancel_requested: b.cancelRequested ? 1 : 0,
    usage_runtime_ms: b.usage.runtimeMs,
    usage_gpu_ms: b.usage.gpuMs,
    usage_cost_nano_usd: b.usage.costNanoUsd,
    webhook_url: b.webhookUrl,
    organization_id: b.organizationId,
    shared_with_org: b.sharedWithOrganization ? 1 : 0,
    created_at: b.createdAt.getTime(),
    updated_at: b.updatedAt.getTime(),
    started_at: ms(b.startedAt),
    completed_at: ms(b.completedAt),
    idempotency_key: b.idempotencyKey,
  };
}

function usageColumns(u: Usage | null): Pick<JobRow, 'usage_runtime_ms' | 'usage_gpu_ms' | 'usage_cost_nano_usd'> {
  return { usage_runtime_ms: u?.runtimeMs ?? null, usage_gpu_ms: u?.gpuMs ?? null, usage_cost_nano_usd: u?.costNanoUsd ?? null };
}
