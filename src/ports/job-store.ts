import type { Batch, Job, JobError, JobStatus, ModelName, Result, Usage } from '../domain/job.js';
import type { Page, PageRequest } from './page.js';
import type { Admission, QuotaSubject, QuotaUsage, QuotaWindows, RetryAdmission } from '../domain/quota.js';

export interface JobFilter {
  /** Without `kind` or `batchId` the list holds the owner's INDIVIDUAL jobs only. */
  kind?: 'INDIVIDUAL' | 'BATCH_CHILD' | null;
  batchId?: string | null;
  status?: JobStatus | null;
  model?: ModelName | null;
}

export interface BatchFilter {
  status?: Batch['status'] | null;
  model?: ModelName | null;
}

export interface BatchJobFilter {
  status?: JobStatus | null;
}

export type BatchJobOrderField = 'INDEX' | 'AFFINITY' | 'CONFIDENCE';
export type OrderDirection = 'ASC' | 'DESC';
export interface BatchJobOrder {
  field: BatchJobOrderField;
  direction: OrderDirection;
}

export type ClaimOutcome =
  | { claimed: true; job: Job; attempt: number }
  | { claimed: false; reason: 'NOT_FOUND' | 'FINISHED' | 'CANCELLED' | 'LEASED' | 'THROTTLED'; job: Job | null };

export interface BatchStats {
  /** Children with an affinity, and the best (lowest) and mean of it. */
  withAffinity: number;
  bestAffinity: number | null;
  meanAffinity: number | null;
}

/**
 * Jobs and batches. Every write is one transaction; a child's status and its batch's
 * counters (and usage sums) change together, and each committed change reaches the ChangeFeed.
 *
 * `complete`, `fail` and `release` take the attempt's `usage`, if any: it is added to the
 * job's and, for a child, to its batch's sums in the same transaction, so the sums are exact
 * (whole units, see `Usage`). A stale attempt's usage is dropped with the rest of its write.
 * An invalid usage (fractional, negative) is a RangeError and nothing is written.
 */
export interface JobStore {
  /**
   * Stores a PENDING individual job. With an idempotency key already used by the same owner
   * it stores nothing and returns the first job with `created: false`. With an `admission`,
   * each of its subjects' usage is read in the same transaction as the write and passed to
   * `admit` (domain/quota.ts); a QuotaExceededError from it writes nothing. A repeated
   * idempotency key is not checked (it adds nothing).
   */
  createJob(job: Job, admission?: Admission): Promise<{ job: Job; created: boolean }>;
  /**
   * Stores a batch and all its PENDING children at once, or nothing; idempotent and admitted
   * as createJob. When a batch with a `webhookUrl` reaches a terminal state (again, after
   * `retryFailed`), the same transaction records one waiting delivery for the WebhookStore.
   */
  createBatch(batch: Batch, children: Job[], admission?: Admission): Promise<{ batch: Batch; created: boolean }>;
  /**
   * A user's or an organization's usage, counted exactly from the records: jobs not yet
   * finished, jobs created since `dayStart`, and GPU milliseconds of jobs created since
   * `monthStart` (recorded for a finished job; for an open one, its `estimatedGpuMs` on top of
   * what it recorded before its last retry, or what it recorded when that is more). Cheap:
   * index-only counts over the rows that matter.
   */
  quotaUsage(subject: QuotaSubject, windows: QuotaWindows): Promise<QuotaUsage>;
  /** PENDING → QUEUED once their tasks are enqueued; other statuses are left alone. */
  markQueued(jobIds: string[], now: Date): Promise<void>;

  /**
   * Takes a QUEUED job for one attempt: RUNNING, attempts + 1, lease until now + leaseMs.
   * A finished, cancelled or live-leased job is not claimed and says why; so is a child whose
   * batch already runs `maxConcurrent` children (THROTTLED: the task should come back later).
   */
  claim(jobId: string, now: Date, leaseMs: number): Promise<ClaimOutcome>;
  /** Extends the lease of a running attempt; false when the attempt no longer holds it. */
  renewLease(jobId: string, attempt: number, now: Date, leaseMs: number): Promise<boolean>;
  /** RUNNING → COMPLETED for the attempt that holds the lease; null when it does not. */
  complete(jobId: string, attempt: number, result: Result, now: Date, usage?: Usage): Promise<Job | null>;
  /** RUNNING → FAILED for good (bad input, attempts used up). */
  fail(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null>;
  /** RUNNING → QUEUED after a transient fault, so the queue's retry runs it again. */
  release(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null>;
  /** QUEUED jobs whose task the queue gave up on end FAILED with `error`; others are left alone. */
  abandon(jobIds: string[], error: JobError, now: Date): Promise<Job[]>;
  /** RUNNING jobs whose lease ended before `now` go back to QUEUED; returns their ids. */
  requeueExpired(now: Date, limit: number): Promise<Job[]>;
  /** Jobs left PENDING since before `olderThan` (their enqueue never happened). */
  listStalePending(olderThan: Date, limit: number): Promise<Job[]>;
  /**
   * Jobs QUEUED and unchanged since before `olderThan`: their task may be gone (the queue
   * gave a duplicate delivery 2xx while the first released the job, an enqueue failed).
   */
  listStaleQueued(olderThan: Date, limit: number): Promise<Job[]>;

  /** A PENDING, QUEUED or RUNNING job ends CANCELLED; a finished one is a ConflictError. */
  cancelJob(owner: string, jobId: string, now: Date): Promise<Job>;
  /** Marks the batch cancelled and cancels every child not yet finished. */
  cancelBatch(owner: string, batchId: string, now: Date): Promise<Batch>;
  /**
   * FAILED children go back to QUEUED with their error cleared; returns them. With an
   * `admission`, the retry is admitted in the same transaction as a demand of the failed
   * children (places under `concurrentJobs`, none under `predictionsPerDay`) and the sum of
   * their `estimatedGpuMs`; a QuotaExceededError writes nothing.
   */
  retryFailed(owner: string, batchId: string, now: Date, admission?: RetryAdmission): Promise<{ batch: Batch; jobs: Job[] }>;

  getJobs(ids: readonly string[]): Promise<(Job | null)[]>;
  getBatches(ids: readonly string[]): Promise<(Batch | null)[]>;
  /** Newest first by createdAt, then id. */
  listJobs(owner: string, filter: JobFilter, page: PageRequest): Promise<Page<Job>>;
  listBatches(owner: string, filter: BatchFilter, page: PageRequest): Promise<Page<Batch>>;
  /** Children of one batch; jobs without the ordered value come last, by index. */
  listBatchJobs(batchId: string, filter: BatchJobFilter, order: BatchJobOrder, page: PageRequest): Promise<Page<Job>>;
  batchStats(batchId: string): Promise<BatchStats>;
  /** Every job by status, for /metrics. */
  countJobsByStatus(): Promise<Record<JobStatus, number>>;
  /** Resolves once the store answers a cheap read, rejects while it cannot: `/readyz` follows it. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
