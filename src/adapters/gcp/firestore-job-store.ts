import { createHash, randomUUID } from 'node:crypto';
import {
  AggregateField,
  FieldValue,
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Transaction,
} from '@google-cloud/firestore';
import type { Batch, Job, JobError, JobStatus, Result, Usage } from '../../domain/job.js';
import { JOB_STATUSES } from '../../domain/job.js';
import { addUsage, assertUsage } from '../../domain/cost.js';
import { assertTransition, batchStatusFrom, isBatchTerminal, isTerminal } from '../../domain/status.js';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import type { Admission, QuotaSubject, QuotaUsage, QuotaWindows, RetryAdmission } from '../../domain/quota.js';
import type {
  BatchFilter,
  BatchJobFilter,
  BatchJobOrder,
  BatchStats,
  ClaimOutcome,
  JobFilter,
  JobStore,
} from '../../ports/job-store.js';
import type { Page, PageRequest } from '../../ports/page.js';
import { DEFAULT_PAGE_SIZE } from '../../ports/page.js';
import { resolvePageRequest } from '../local/sqlite/keyset.js';
import {
  JOBS,
  STAGED_CHILD,
  batchFromDoc,
  batchToDoc,
  jobFromDoc,
  jobStateFields,
  jobToDoc,
  parseBatchDoc,
  parseJobDoc,
  type BatchDoc,
  type ProteinTexts,
} from './firestore/job-documents.js';
import { PayloadStore, type PayloadRef } from './firestore/payloads.js';
import { bulk } from './firestore/bulk.js';
import {
  SHARDS,
  addTransition,
  addUsageDelta,
  createShards,
  emptyDelta,
  lockedRunning,
  shardOf,
  sumShards,
  writeDelta,
  type CounterDelta,
} from './firestore/batch-counters.js';
import { admitInTransaction, usageOf } from './firestore/quota-counts.js';
import { readPage, type Segment } from './firestore/keyset.js';
import { enqueueWebhookDelivery } from './firestore/webhook-outbox.js';

export interface FirestoreJobStoreOptions {
  /** How long `ping` waits for Firestore before it rejects. @default 3_000 // milliseconds */
  pingTimeoutMs?: number;
  /** Documents one markQueued/abandon transaction moves. @default 200 // documents */
  chunkSize?: number;
  /**
   * Staged children (step 1 of createBatch) created longer ago than this whose batch does not
   * exist are a crashed submission's: the reaper's sweep deletes them. Far longer than any
   * stage takes (10,000 children stage in seconds), so a live submission is never touched.
   * @default 3_600_000 // milliseconds (1 hour)
   */
  stagedGraceMs?: number;
  /**
   * Told of a fault the store recovers from later instead of failing the call: a batch not
   * finalized after its child's change committed (the reaper's sweep finalizes it), a repair
   * of the sweep that failed (the next sweep tries again).
   * @default process.emitWarning
   */
  onError?: (error: unknown, during: string) => void;
}

/** `idempotency_keys/{sha256(kind, owner, key)}` = { target_id }: one per owner and key. */
const IDEMPOTENCY = 'idempotency_keys';
const OPEN = ['pending', 'queued', 'running'];
/** Orphaned staged children one sweep deletes at most. @default 500 // documents */
const ORPHANS_PER_SWEEP = 500;

/**
 * `commit_token` on a document: a random id of the store call that wrote it last. The SDK
 * runs a transaction's function again when a commit fails with DEADLINE_EXCEEDED,
 * UNAVAILABLE etc., even when that commit was applied and only its reply was lost; the re-run
 * finds its own token and answers what the applied commit did instead of refusing it.
 */
const COMMIT_TOKEN = 'commit_token';

/** A job read inside a transaction, with what only the store keeps. */
interface Loaded {
  job: Job;
  ref: DocumentReference;
  gpuMsBeforeRetry: number;
  /** The `commit_token` of the call that wrote the document last. */
  token: unknown;
}

type Deltas = Map<string, { ref: DocumentReference; delta: CounterDelta }>;

/**
 * The JobStore on Firestore (layout: firestore/job-documents.ts). Every change of a job is
 * one transaction that also adds its batch's counter delta to one counter shard
 * (firestore/batch-counters.ts), so counts never drift and no batch document is hot. A batch
 * is finalized (status, completedAt, webhook outbox) by a follow-up transaction once its
 * shards say every child ended: idempotent, run after each child's ending, and again by the
 * reaper's `requeueExpired` sweep, so a process dying between the two loses nothing; reads
 * derive the status from the counts meanwhile.
 *
 * createBatch (10,000 children do not fit one transaction's request):
 * 1. BulkWriter writes the children STAGED: `job_type` BATCH_CHILD_STAGED, `batch_parent_id`
 *    `staged:{id}`. No query of the store matches them and `getJobs` answers null for them; the
 *    quota counts include them (a concurrent submission sees the places they take).
 * 2. One transaction reads the idempotency key and the quota counts, and creates the parent
 *    (`children_state: staging`), its 64 shards and the key. A refusal (quota, a key taken
 *    meanwhile) deletes the staged children before it answers.
 * 3. BulkWriter makes the children visible (`job_type` BATCH_CHILD, `batch_parent_id` {id}),
 *    then the parent becomes `children_state: ready` with `children_ready_at` (from then on
 *    `listStalePending` may count its children as late; a cancel meanwhile ends staged ones too). If the process dies during 3, the
 *    reaper's sweep finds the parent still `staging` and finishes the step (idempotent).
 * A crash during 1 leaves staged children no parent refers to: invisible, but counted by
 * quotas until the reaper's sweep deletes them, once older than `stagedGraceMs`.
 */
export class FirestoreJobStore implements JobStore {
  private readonly payloads: PayloadStore;
  private readonly pingTimeoutMs: number;
  private readonly chunkSize: number;
  private readonly stagedGraceMs: number;
  private readonly onError: (error: unknown, during: string) => void;
  /** Where the reaper's round-robin sweep over open batches continues. */
  private sweepAfter: string | null = null;

  constructor(
    private readonly db: Firestore,
    options: FirestoreJobStoreOptions = {},
  ) {
    this.payloads = new PayloadStore(db);
    this.pingTimeoutMs = options.pingTimeoutMs ?? 3_000;
    this.chunkSize = options.chunkSize ?? 200;
    this.stagedGraceMs = options.stagedGraceMs ?? 3_600_000;
    this.onError = options.onError ?? ((error, during) => process.emitWarning(`FirestoreJobStore: ${during}: ${String(error)}`));
  }

  async createJob(job: Job, admission?: Admission): Promise<{ job: Job; created: boolean }> {
    const texts = await this.storeTexts(job.protein);
    const token = randomUUID();
    const ref = this.jobRef(job.id);
    const key = job.idempotencyKey === null ? null : this.keyRef('job', job.owner, job.idempotencyKey);
    const first = await this.db.runTransaction(async (tx) => {
      const [existing, taken] = await Promise.all([tx.get(ref), key ? tx.get(key) : null]);
      if (existing.get(COMMIT_TOKEN) === token) return null; // a re-run after our commit's reply was lost
      if (taken?.exists) return (taken.get('target_id') as string) ?? null;
      if (admission) await admitInTransaction(tx, this.db, admission, job.createdAt);
      tx.create(ref, { ...jobToDoc(job, texts), changed_at: FieldValue.serverTimestamp(), [COMMIT_TOKEN]: token });
      if (key) tx.create(key, { target_id: job.id, owner: job.owner });
      return null;
    });
    if (first === null) return { job, created: true };
    return { job: (await this.getJobs([first]))[0]!, created: false };
  }

  async createBatch(batch: Batch, children: Job[], admission?: Admission): Promise<{ batch: Batch; created: boolean }> {
    const staging = performance.now();
    const key = batch.idempotencyKey === null ? null : this.keyRef('batch', batch.owner, batch.idempotencyKey);
    if (key) {
      const taken = await key.get();
      if (taken.exists) return { batch: await this.mustGetBatch(taken.get('target_id') as string), created: false };
    }
    const texts = await this.storeTexts(batch.protein);
    await bulk(this.db, (writer) =>
      children.map((child) =>
        writer.set(this.jobRef(child.id), {
          ...jobToDoc(child, null, true),
          batch_parent_id: `staged:${batch.id}`,
          changed_at: FieldValue.serverTimestamp(),
        }),
      ),
    );
    const token = randomUUID();
    const parentRef = this.jobRef(batch.id);
    let first: string | null;
    try {
      first = await this.db.runTransaction(async (tx) => {
        const [existing, taken] = await Promise.all([tx.get(parentRef), key ? tx.get(key) : null]);
        if (existing.get(COMMIT_TOKEN) === token) return null; // a re-run after our commit's reply was lost
        if (taken?.exists) return taken.get('target_id') as string;
        if (admission) {
          // The staged children count in usageOf (every subject of the batch is theirs too): they are this demand.
          const own = {
            jobs: children.length,
            createdAt: batch.createdAt,
            gpuMs: children.reduce((n, c) => n + c.estimatedGpuMs, 0),
          };
          await admitInTransaction(tx, this.db, admission, batch.createdAt, own);
        }
        tx.create(parentRef, {
          ...batchToDoc(batch, texts!, SHARDS),
          children_state: 'staging',
          changed_at: FieldValue.serverTimestamp(),
          [COMMIT_TOKEN]: token,
        });
        createShards(tx, this.db, batch.id);
        if (key) tx.create(key, { target_id: batch.id, owner: batch.owner });
        return null;
      });
    } catch (error) {
      // A commit may have been applied though every attempt reported a failure: then the batch
      // is ours and its children must stay. When even that cannot be read, they are left to
      // the sweep (unstaged if the batch exists, deleted as orphans if it does not).
      const parent = await parentRef.get().catch(() => {
        throw error;
      });
      if (parent.get(COMMIT_TOKEN) !== token) {
        await this.deleteStaged(children.map((c) => c.id));
        throw error;
      }
      first = null;
    }
    if (first !== null) {
      await this.deleteStaged(children.map((c) => c.id));
      return { batch: await this.mustGetBatch(first), created: false };
    }
    await this.unstage(
      batch.id,
      children.map((c) => this.jobRef(c.id)),
    );
    // Children become due for the stale-PENDING sweep from when they became visible, in the
    // clock of `createdAt`: a submission that took 40 s to land is not 40 s late to dispatch.
    await parentRef.update({
      children_state: 'ready',
      children_ready_at: Timestamp.fromMillis(batch.createdAt.getTime() + Math.round(performance.now() - staging)),
    });
    return { batch, created: true };
  }

  async quotaUsage(subject: QuotaSubject, windows: QuotaWindows): Promise<QuotaUsage> {
    return usageOf(this.db, subject, windows);
  }

  async markQueued(jobIds: string[], now: Date): Promise<void> {
    const token = randomUUID();
    for (let start = 0; start < jobIds.length; start += this.chunkSize) {
      const refs = [...new Set(jobIds.slice(start, start + this.chunkSize))].map((id) => this.jobRef(id));
      await this.db.runTransaction(async (tx) => {
        const loaded = await this.loadAll(tx, refs);
        const deltas: Deltas = new Map();
        for (const l of loaded) {
          if (l?.job.status !== 'PENDING') continue;
          this.transition(tx, l, 'QUEUED', now, {}, deltas, token);
        }
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      });
    }
  }

  async claim(jobId: string, now: Date, leaseMs: number): Promise<ClaimOutcome> {
    const token = randomUUID();
    return this.db.runTransaction(async (tx): Promise<ClaimOutcome> => {
      const l = await this.load(tx, jobId);
      if (!l) return { claimed: false, reason: 'NOT_FOUND', job: null };
      const job = l.job;
      // A re-run after our commit's reply was lost: the job is ours, as that commit wrote it.
      if (l.token === token) return { claimed: true, job, attempt: job.attempts };
      if (job.status === 'COMPLETED' || job.status === 'FAILED') return { claimed: false, reason: 'FINISHED', job };
      if (job.status === 'CANCELLED') return { claimed: false, reason: 'CANCELLED', job };
      const leaseLive = job.status === 'RUNNING' && (job.leaseExpiresAt?.getTime() ?? 0) > now.getTime();
      if (leaseLive) return { claimed: false, reason: 'LEASED', job };
      let parent: DocumentSnapshot | null = null;
      if (job.batchId !== null) {
        parent = await tx.get(this.jobRef(job.batchId));
        // cancelBatch ends the children chunk by chunk after it set cancel_requested: none may start meanwhile.
        if (parent.get('cancel_requested') === true) return { claimed: false, reason: 'CANCELLED', job };
        const maxConcurrent = parent.get('max_concurrent') as number | null | undefined;
        if (job.status !== 'RUNNING' && maxConcurrent != null) {
          if ((await lockedRunning(tx, this.db, job.batchId)) >= maxConcurrent)
            return { claimed: false, reason: 'THROTTLED', job };
        }
      }
      const attempt = job.attempts + 1;
      const patch = { attempts: attempt, leaseExpiresAt: new Date(now.getTime() + leaseMs), startedAt: now };
      const deltas: Deltas = new Map();
      // A task may arrive before its job was marked QUEUED: take PENDING → QUEUED on the way. A
      // RUNNING job here is one whose lease expired: the new attempt takes it over.
      if (job.status === 'PENDING') assertTransition(job.id, 'PENDING', 'QUEUED');
      const via = job.status === 'PENDING' ? 'QUEUED' : undefined;
      const claimed = this.transition(tx, l, 'RUNNING', now, patch, deltas, token, { via });
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      if (parent?.exists && parent.get('started_at') == null) {
        tx.update(parent.ref, {
          started_at: Timestamp.fromDate(now),
          status: 'running',
          updated_at: Timestamp.fromDate(now),
          changed_at: FieldValue.serverTimestamp(),
        });
      }
      return { claimed: true, job: claimed, attempt };
    });
  }

  async renewLease(jobId: string, attempt: number, now: Date, leaseMs: number): Promise<boolean> {
    return this.db.runTransaction(async (tx) => {
      const l = await this.load(tx, jobId);
      if (!l || l.job.status !== 'RUNNING' || l.job.attempts !== attempt) return false;
      tx.update(l.ref, { lease_expires_at: Timestamp.fromMillis(now.getTime() + leaseMs) });
      return true;
    });
  }

  async complete(jobId: string, attempt: number, result: Result, now: Date, usage?: Usage): Promise<Job | null> {
    return this.finish(jobId, attempt, 'COMPLETED', now, usage, { result, error: null, leaseExpiresAt: null, completedAt: now });
  }

  async fail(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null> {
    return this.finish(jobId, attempt, 'FAILED', now, usage, { error, leaseExpiresAt: null, completedAt: now });
  }

  async release(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null> {
    return this.finish(jobId, attempt, 'QUEUED', now, usage, { error, leaseExpiresAt: null });
  }

  async abandon(jobIds: string[], error: JobError, now: Date): Promise<Job[]> {
    const token = randomUUID();
    const abandoned: Job[] = [];
    for (let start = 0; start < jobIds.length; start += this.chunkSize) {
      const refs = [...new Set(jobIds.slice(start, start + this.chunkSize))].map((id) => this.jobRef(id));
      const jobs = await this.db.runTransaction(async (tx) => {
        const loaded = await this.loadAll(tx, refs);
        const deltas: Deltas = new Map();
        const moved = loaded
          .filter((l): l is Loaded => l?.job.status === 'QUEUED' || l?.token === token)
          .map((l) =>
            // A re-run after our commit's reply was lost finds the jobs that commit failed.
            l.token === token ? l.job : this.transition(tx, l, 'FAILED', now, { error, completedAt: now }, deltas, token),
          );
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
        return moved;
      });
      abandoned.push(...jobs);
    }
    await this.finalizeBatchesOf(abandoned, now);
    return abandoned;
  }

  /**
   * Lease recovery first, then the sweep's repairs: a repair that fails (a malformed document,
   * a query refused) is reported to `onError` and never keeps expired jobs from their next attempt.
   */
  async requeueExpired(now: Date, limit: number): Promise<Job[]> {
    const token = randomUUID();
    const expired = await this.db
      .collection(JOBS)
      .where('status', '==', 'running')
      .where('lease_expires_at', '<=', Timestamp.fromDate(now))
      .orderBy('lease_expires_at')
      .limit(limit)
      .get();
    // One transaction per job, side by side: they touch different jobs and only add to shards
    // blindly. One that fails (its job locked by a transaction that hangs) is reported and
    // tried again next time; it does not keep the others from their next attempt.
    const settled = await Promise.allSettled(
      expired.docs.map((doc) =>
        this.db.runTransaction(async (tx) => {
          const l = await this.load(tx, doc.id);
          if (l?.token === token) return l.job; // a re-run after our commit's reply was lost
          if (!l || l.job.status !== 'RUNNING' || (l.job.leaseExpiresAt?.getTime() ?? Infinity) > now.getTime()) return null;
          const error = { code: 'LEASE_EXPIRED', message: `attempt ${l.job.attempts} stopped answering`, retryable: true };
          const deltas: Deltas = new Map();
          const next = this.transition(tx, l, 'QUEUED', now, { error, leaseExpiresAt: null }, deltas, token);
          for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
          return next;
        }),
      ),
    );
    const requeued: Job[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'rejected') this.onError(outcome.reason, 'requeueExpired');
      else if (outcome.value !== null) requeued.push(outcome.value);
    }
    await this.sweep(now);
    return requeued;
  }

  /**
   * A batch child counts from when its batch's children became visible (`children_ready_at`),
   * not from its `created_at`: children made visible while createBatch still unstages the rest
   * (a 10,000-child batch takes ~20 s on Firestore), or a batch that took longer than the grace
   * to land, are still being dispatched by their submission, in its own shards. Skipping them
   * here may hold back newer stale jobs behind them until they are due, a few tens of seconds.
   */
  async listStalePending(olderThan: Date, limit: number): Promise<Job[]> {
    const stale = await this.staleJobs('pending', 'created_at', olderThan, limit);
    const batchIds = [...new Set(stale.flatMap((j) => (j.batchId === null ? [] : [j.batchId])))];
    if (batchIds.length === 0) return stale;
    const parents = await this.db.getAll(...batchIds.map((id) => this.jobRef(id)));
    const due = new Set(
      parents
        .filter((p) => {
          if (!p.exists || p.get('children_state') === 'staging') return false;
          const visibleSince = (p.get('children_ready_at') ?? p.get('created_at')) as Timestamp | undefined;
          return visibleSince !== undefined && visibleSince.toMillis() < olderThan.getTime();
        })
        .map((p) => p.id),
    );
    return stale.filter((j) => j.batchId === null || due.has(j.batchId));
  }

  async listStaleQueued(olderThan: Date, limit: number): Promise<Job[]> {
    return this.staleJobs('queued', 'updated_at', olderThan, limit);
  }

  async cancelJob(owner: string, jobId: string, now: Date): Promise<Job> {
    const token = randomUUID();
    const job = await this.db.runTransaction(async (tx) => {
      const l = await this.load(tx, jobId);
      if (!l || l.job.owner !== owner) throw new NotFoundError('Job', jobId);
      if (l.token === token) return l.job; // a re-run after our commit's reply was lost
      if (isTerminal(l.job.status))
        throw new ConflictError(`job ${jobId} has already ended ${l.job.status}; only a job not yet finished can be cancelled`);
      const deltas: Deltas = new Map();
      const next = this.transition(tx, l, 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now }, deltas, token);
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      return next;
    });
    await this.finalizeBatchesOf([job], now);
    return job;
  }

  /**
   * One transaction marks the batch cancelled (claims refuse its children from then on), then
   * its open children end CANCELLED `chunkSize` at a time (100,000 of them do not fit one
   * transaction's 10 MiB and 270 s, and would lock out every worker meanwhile), then the batch
   * is finalized. A process dying in between leaves `cancel_requested` set: the sweep goes on.
   */
  async cancelBatch(owner: string, batchId: string, now: Date): Promise<Batch> {
    const token = randomUUID();
    await this.db.runTransaction(async (tx) => {
      const parent = await tx.get(this.jobRef(batchId));
      if (parent.get(COMMIT_TOKEN) === token) return; // a re-run after our commit's reply was lost
      const batch = parent.exists ? await this.batchOf(parent, tx) : null;
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested || batch.status === 'COMPLETED' || batch.status === 'FAILED') {
        throw new ConflictError(
          `batch ${batchId} has already ended ${batch.status}; only a batch not yet finished can be cancelled`,
        );
      }
      tx.update(parent.ref, {
        cancel_requested: true,
        updated_at: Timestamp.fromDate(now),
        changed_at: FieldValue.serverTimestamp(),
        [COMMIT_TOKEN]: token,
      });
    });
    await this.cancelChildren(batchId, now);
    await this.finalize(batchId, now);
    return this.mustGetBatch(batchId);
  }

  /**
   * FAILED children go back to QUEUED in chunks, after one transaction admitted the retry and
   * marked the batch `retry_requested_at` (finalize leaves it open meanwhile). The chunks walk
   * the failed children by index from `retry_cursor`, kept on the batch with each chunk, so each
   * is retried once even if it fails again before the walk ends, and a walk a dead process left
   * is finished by the sweep.
   */
  async retryFailed(
    owner: string,
    batchId: string,
    now: Date,
    admission?: RetryAdmission,
  ): Promise<{ batch: Batch; jobs: Job[] }> {
    const token = randomUUID();
    await this.db.runTransaction(async (tx) => {
      const parent = await tx.get(this.jobRef(batchId));
      if (parent.get(COMMIT_TOKEN) === token) return; // a re-run after our commit's reply was lost
      const batch = parent.exists ? await this.batchOf(parent, tx) : null;
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested) throw new ConflictError(`batch ${batchId} was cancelled; its failed jobs cannot be retried`);
      if (parent.get('retry_requested_at') != null)
        throw new ConflictError(`batch ${batchId} is already retrying its failed jobs`);
      const failed = batch.counts.failed;
      if (failed === 0) throw new ConflictError(`batch ${batchId} has no failed jobs to retry`);
      if (admission) {
        // Each retried job opens again and runs again: its estimate counts on top of what it recorded.
        const estimates = await tx.get(
          this.children(batchId)
            .where('status', '==', 'failed')
            .aggregate({ gpu: AggregateField.sum('estimated_gpu_ms') }),
        );
        const estimatedGpuMs = (estimates.data() as { gpu: number | null }).gpu ?? 0;
        await admitInTransaction(
          tx,
          this.db,
          { ...admission, demand: { jobs: failed, newJobs: 0, batchSize: null, estimatedGpuMs } },
          now,
        );
      }
      const counts = { ...batch.counts, queued: batch.counts.queued + failed, failed: 0 };
      const status = batchStatusFrom(counts, batch.total, false, batch.startedAt !== null);
      this.writeBatchStatus(tx, batch, status, now, {
        completed_at: null,
        retry_requested_at: Timestamp.fromDate(now),
        retry_cursor: -1,
        [COMMIT_TOKEN]: token,
      });
    });
    const jobs = await this.retryChildren(batchId, now);
    return { batch: await this.mustGetBatch(batchId), jobs };
  }

  async getJobs(ids: readonly string[]): Promise<(Job | null)[]> {
    if (ids.length === 0) return [];
    const snapshots = await this.db.getAll(...ids.map((id) => this.jobRef(id)));
    return Promise.all(
      snapshots.map(async (s) =>
        s.exists && s.get('job_type') !== 'BATCH_PARENT' ? ((await this.loaded(s))?.job ?? null) : null,
      ),
    );
  }

  async getBatches(ids: readonly string[]): Promise<(Batch | null)[]> {
    if (ids.length === 0) return [];
    const snapshots = await this.db.getAll(...ids.map((id) => this.jobRef(id)));
    return Promise.all(snapshots.map((s) => (s.exists && s.get('job_type') === 'BATCH_PARENT' ? this.batchOf(s) : null)));
  }

  async listJobs(owner: string, filter: JobFilter, page: PageRequest): Promise<Page<Job>> {
    const jobs = this.db.collection(JOBS);
    if (filter.batchId) {
      // A batch's children all share one createdAt: within it they come in index order.
      const query = matching(jobs.where('batch_parent_id', '==', filter.batchId).where('user_id', '==', owner), filter);
      return this.jobPage([{ query, keys: ['batch_index'], direction: 'asc' }], listName('jobs:batch', filter), page);
    }
    const query = matching(jobs.where('user_id', '==', owner).where('job_type', '==', filter.kind ?? 'INDIVIDUAL'), filter);
    return this.jobPage([{ query, keys: ['created_at', 'job_id'], direction: 'desc' }], listName('jobs', filter), page);
  }

  async listBatches(owner: string, filter: BatchFilter, page: PageRequest): Promise<Page<Batch>> {
    const query = matching(
      this.db.collection(JOBS).where('user_id', '==', owner).where('job_type', '==', 'BATCH_PARENT'),
      filter,
    );
    return readPage(
      [{ query, keys: ['created_at', 'job_id'], direction: 'desc' }],
      listName('batches', filter),
      resolvePageRequest(page, DEFAULT_PAGE_SIZE),
      (docs) => Promise.all(docs.map((d) => this.batchOf(d))),
    );
  }

  async listBatchJobs(batchId: string, filter: BatchJobFilter, order: BatchJobOrder, page: PageRequest): Promise<Page<Job>> {
    let base = this.children(batchId);
    if (filter.status) base = base.where('status', '==', filter.status.toLowerCase());
    const direction = order.direction === 'ASC' ? 'asc' : 'desc';
    if (order.field === 'INDEX') {
      return this.jobPage(
        [{ query: base, keys: ['batch_index'], direction }],
        listName(`batch:${batchId}:index:${direction}`, filter),
        page,
      );
    }
    const field = order.field === 'AFFINITY' ? 'results.affinity' : 'results.confidence';
    // Our children always hold `results.affinity`/`confidence` (null without one); a legacy
    // batch's children (its parent has no counter shards) may lack `results`, which `== null`
    // does not match: there the jobs without a value are the index order, filtered.
    const legacy = (await this.jobRef(batchId).get()).get('counter_shards') === undefined;
    const unranked: Segment = legacy
      ? { query: base, keys: ['batch_index'], direction: 'asc', keep: (d) => d.get(field) == null }
      : { query: base.where(field, '==', null), keys: ['batch_index'], direction: 'asc' };
    const segments: Segment[] = [{ query: base.where(field, '!=', null), keys: [field, 'batch_index'], direction }, unranked];
    return this.jobPage(segments, listName(`batch:${batchId}:${field}:${direction}`, filter), page);
  }

  async batchStats(batchId: string): Promise<BatchStats> {
    const parent = await this.jobRef(batchId).get();
    if (!parent.exists) throw new NotFoundError('Batch', batchId);
    const scored = this.children(batchId).where('status', '==', 'completed').where('results.affinity', '!=', null);
    const [aggregate, best] = await Promise.all([
      scored.aggregate({ n: AggregateField.count(), mean: AggregateField.average('results.affinity') }).get(),
      scored.orderBy('results.affinity', 'asc').limit(1).get(),
    ]);
    const { n, mean } = aggregate.data() as { n: number; mean: number | null };
    return {
      withAffinity: n,
      bestAffinity: n === 0 ? null : (best.docs[0]!.get('results.affinity') as number),
      meanAffinity: n === 0 ? null : mean,
    };
  }

  async countJobsByStatus(): Promise<Record<JobStatus, number>> {
    const counted = await Promise.all(
      JOB_STATUSES.map((status) =>
        this.db
          .collection(JOBS)
          .where('job_type', 'in', ['INDIVIDUAL', 'BATCH_CHILD'])
          .where('status', '==', status.toLowerCase())
          .count()
          .get(),
      ),
    );
    return Object.fromEntries(JOB_STATUSES.map((s, i) => [s, counted[i]!.data().count])) as Record<JobStatus, number>;
  }

  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Firestore did not answer within ${this.pingTimeoutMs} ms`)), this.pingTimeoutMs);
    });
    try {
      await Promise.race([this.db.collection(JOBS).doc('_ping').get(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The client belongs to the composition root, which terminates it after closing its users. */
  async close(): Promise<void> {}

  private jobRef(id: string): DocumentReference {
    return this.db.collection(JOBS).doc(id);
  }

  private children(batchId: string) {
    return this.db.collection(JOBS).where('batch_parent_id', '==', batchId);
  }

  private keyRef(kind: 'job' | 'batch', owner: string, key: string): DocumentReference {
    const id = createHash('sha256')
      .update(JSON.stringify([kind, owner, key]))
      .digest('hex');
    return this.db.collection(IDEMPOTENCY).doc(id);
  }

  private async storeTexts(protein: Job['protein']): Promise<ProteinTexts | null> {
    if (protein === null) return null;
    const [structure, msa] = await Promise.all([
      protein.structure ? this.payloads.store(protein.structure.content) : null,
      protein.msa ? this.payloads.store(protein.msa.content) : null,
    ]);
    return { structure, msa };
  }

  /** Loads the payloads a document refers to, then maps it. */
  private async withTexts<T>(data: { input_data?: Record<string, unknown> }, map: () => T): Promise<T> {
    const refs = [data.input_data?.protein_structure, data.input_data?.msa]
      .map((f) => (f as { payload?: PayloadRef } | null | undefined)?.payload)
      .filter((r): r is PayloadRef => r !== undefined);
    if (refs.length > 0) await this.payloads.load(refs);
    return map();
  }

  /** `asChildOf`: read a staged child as the child of that batch it will be (cancelChildren). */
  private async loaded(s: DocumentSnapshot, asChildOf?: string): Promise<Loaded | null> {
    const parsed = parseJobDoc(s.ref.path, s.data());
    const d = asChildOf === undefined ? parsed : { ...parsed, job_type: 'BATCH_CHILD' as const, batch_parent_id: asChildOf };
    const job = await this.withTexts(d, () => jobFromDoc(s.id, d, (f) => this.payloads.text(f)));
    return job ? { job, ref: s.ref, gpuMsBeforeRetry: d.gpu_ms_before_retry, token: s.get(COMMIT_TOKEN) } : null;
  }

  private async load(tx: Transaction, id: string): Promise<Loaded | null> {
    const s = await tx.get(this.jobRef(id));
    return s.exists && s.get('job_type') !== 'BATCH_PARENT' ? this.loaded(s) : null;
  }

  private async loadAll(tx: Transaction, refs: DocumentReference[]): Promise<(Loaded | null)[]> {
    if (refs.length === 0) return [];
    const snapshots = await tx.getAll(...refs);
    return Promise.all(snapshots.map((s) => (s.exists && s.get('job_type') !== 'BATCH_PARENT' ? this.loaded(s) : null)));
  }

  /** A batch with its counters summed from its shards (or, for a legacy batch, its children). */
  private async batchOf(s: DocumentSnapshot, tx?: Transaction): Promise<Batch> {
    const d = parseBatchDoc(s.ref.path, s.data());
    const base = await this.withTexts(d, () => batchFromDoc(s.id, d, (f) => this.payloads.text(f)));
    const { counts, usage, total } = await this.countersOf(s.id, d, tx);
    let status = batchStatusFrom(counts, total, base.cancelRequested, base.startedAt !== null);
    // While retryFailed walks its failed children back to QUEUED, the batch is open again.
    if (isBatchTerminal({ status }) && s.get('retry_requested_at') != null) status = base.startedAt ? 'RUNNING' : 'PENDING';
    return { ...base, status, total, counts, usage };
  }

  private async countersOf(
    batchId: string,
    d: BatchDoc,
    tx?: Transaction,
  ): Promise<{ total: number; counts: Batch['counts']; usage: Usage }> {
    if (d.counter_shards !== undefined) {
      const total = d.total ?? 0;
      return { total, ...(await sumShards(this.db, batchId, total, tx)) };
    }
    // A batch written before counter shards: its counts are its children's, all read at one
    // moment (a read-only transaction) so they add up.
    if (!tx) return this.db.runTransaction((t) => this.countersOf(batchId, d, t), { readOnly: true });
    const children = this.children(batchId);
    const counted = await Promise.all(JOB_STATUSES.map((s) => tx.get(children.where('status', '==', s.toLowerCase()).count())));
    const counts = Object.fromEntries(
      JOB_STATUSES.map((s, i) => [s.toLowerCase(), counted[i]!.data().count]),
    ) as unknown as Batch['counts'];
    const sums = (
      await tx.get(
        children.aggregate({
          r: AggregateField.sum('usage.runtime_ms'),
          g: AggregateField.sum('usage.gpu_ms'),
          c: AggregateField.sum('usage.cost_nano_usd'),
        }),
      )
    ).data() as { r: number | null; g: number | null; c: number | null };
    const total = d.total ?? Object.values(counts).reduce((a, b) => a + b, 0);
    return { total, counts, usage: { runtimeMs: sums.r ?? 0, gpuMs: sums.g ?? 0, costNanoUsd: sums.c ?? 0 } };
  }

  private async mustGetBatch(id: string): Promise<Batch> {
    const [batch] = await this.getBatches([id]);
    if (!batch) throw new NotFoundError('Batch', id);
    return batch;
  }

  /**
   * Moves one job along the status machine inside `tx`, and adds the move (and its usage) to
   * the delta of its batch's shard. `via` is a status passed on the way (PENDING → QUEUED →
   * RUNNING in one claim). `token` is the calling store call's COMMIT_TOKEN.
   */
  private transition(
    tx: Transaction,
    l: Loaded,
    to: JobStatus,
    now: Date,
    patch: Partial<Job>,
    deltas: Deltas,
    token: string,
    { via, usage }: { via?: JobStatus; usage?: Usage } = {},
  ): Job {
    const from = l.job.status;
    if (via) {
      assertTransition(l.job.id, from, via);
      assertTransition(l.job.id, via, to);
    } else if (from !== to || to !== 'RUNNING') assertTransition(l.job.id, from, to);
    const next: Job = { ...l.job, ...patch, status: to, updatedAt: now };
    if (usage) next.usage = addUsage(l.job.usage, usage);
    tx.update(l.ref, {
      ...jobStateFields(next, l.gpuMsBeforeRetry),
      changed_at: FieldValue.serverTimestamp(),
      [COMMIT_TOKEN]: token,
    });
    if (l.job.batchId !== null) {
      const shard = shardOf(this.db, l.job.batchId, l.job.batchIndex);
      let entry = deltas.get(shard.path);
      if (!entry) deltas.set(shard.path, (entry = { ref: shard, delta: emptyDelta() }));
      addTransition(entry.delta, from, to);
      if (usage) addUsageDelta(entry.delta, usage);
    }
    return next;
  }

  /**
   * complete, fail and release: the attempt that holds the lease ends it. The batch's finalize
   * follows the committed change; its failure is reported, not thrown (the reaper's sweep
   * finalizes the batch later), so a worker never takes a recorded ending for a failed one.
   */
  private async finish(
    jobId: string,
    attempt: number,
    to: JobStatus,
    now: Date,
    usage: Usage | undefined,
    patch: Partial<Job>,
  ): Promise<Job | null> {
    if (usage) assertUsage(usage);
    const token = randomUUID();
    const job = await this.db.runTransaction(async (tx) => {
      const l = await this.load(tx, jobId);
      if (l?.token === token) return l.job; // a re-run after our commit's reply was lost
      if (!l || l.job.status !== 'RUNNING' || l.job.attempts !== attempt) return null;
      const deltas: Deltas = new Map();
      const next = this.transition(tx, l, to, now, patch, deltas, token, { usage });
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      return next;
    });
    if (job && isTerminal(job.status)) await this.finalizeBatchesOf([job], now);
    return job;
  }

  /** Finalizes the batches of `jobs`; a failure is reported to `onError` (see `finish`). */
  private async finalizeBatchesOf(jobs: Job[], now: Date): Promise<void> {
    const batches = new Set(jobs.map((j) => j.batchId).filter((id): id is string => id !== null));
    await Promise.all(
      [...batches].map((id) =>
        this.finalize(id, now).catch((error: unknown) =>
          this.onError(error, `finalizing batch ${id} (the reaper's sweep finalizes it later)`),
        ),
      ),
    );
  }

  /**
   * Ends a batch whose children all ended: status, completedAt and the webhook outbox in one
   * transaction. The counts are first read outside a transaction (no locks), so the other
   * children's completions do not wait for it; only the last ones pass to the transaction,
   * which reads the parent and the shards again. Idempotent: a batch already ended is left.
   */
  private async finalize(batchId: string, now: Date): Promise<void> {
    const quick = await this.jobRef(batchId).get();
    if (!quick.exists || isBatchTerminal({ status: String(quick.get('status')).toUpperCase() as Batch['status'] })) return;
    const peek = await this.batchOf(quick);
    if (!isBatchTerminal(peek)) return;
    await this.db.runTransaction(async (tx) => {
      const parent = await tx.get(this.jobRef(batchId));
      const stored = parseBatchDoc(parent.ref.path, parent.data());
      if (isBatchTerminal({ status: stored.status as Batch['status'] })) return;
      const batch = await this.batchOf(parent, tx);
      if (isBatchTerminal(batch))
        this.writeBatchStatus(tx, { ...batch, status: stored.status as Batch['status'] }, batch.status, now, {});
    });
  }

  /**
   * Writes a batch's status after its counts changed in `tx` (after every read): the time it
   * ended and, for a batch with a webhook that ends now, one waiting delivery.
   */
  private writeBatchStatus(
    tx: Transaction,
    before: Batch,
    status: Batch['status'],
    now: Date,
    extra: Record<string, unknown>,
  ): void {
    const ends = isBatchTerminal({ status }) && !isBatchTerminal(before);
    const completedAt = isBatchTerminal({ status }) ? (ends ? now : (before.completedAt ?? now)) : null;
    if (ends && before.webhookUrl !== null) {
      enqueueWebhookDelivery(
        tx,
        this.db,
        { id: before.id, owner: before.owner, webhookUrl: before.webhookUrl, status },
        now.getTime(),
      );
    }
    tx.update(this.jobRef(before.id), {
      status: status.toLowerCase(),
      completed_at: completedAt === null ? null : Timestamp.fromDate(completedAt),
      updated_at: Timestamp.fromDate(now),
      changed_at: FieldValue.serverTimestamp(),
      ...extra,
    });
  }

  private async staleJobs(status: string, field: string, olderThan: Date, limit: number): Promise<Job[]> {
    const snapshot = await this.db
      .collection(JOBS)
      .where('job_type', 'in', ['INDIVIDUAL', 'BATCH_CHILD'])
      .where('status', '==', status)
      .where(field, '<', Timestamp.fromDate(olderThan))
      .orderBy(field)
      .limit(limit)
      .get();
    return (await Promise.all(snapshot.docs.map((d) => this.loaded(d)))).filter((l): l is Loaded => l !== null).map((l) => l.job);
  }

  /**
   * Deletes staged children older than `stagedGraceMs` whose batch does not exist: step 1 of
   * a createBatch whose process died before its transaction. A batch that exists (still
   * `staging`) is left to the unstage repair.
   */
  private async deleteOrphans(now: Date): Promise<void> {
    const old = await this.db
      .collection(JOBS)
      .where('job_type', '==', STAGED_CHILD)
      .where('created_at', '<', Timestamp.fromMillis(now.getTime() - this.stagedGraceMs))
      .orderBy('created_at')
      .limit(ORPHANS_PER_SWEEP)
      .get();
    const byBatch = new Map<string, string[]>();
    for (const doc of old.docs) {
      const batchId = String(doc.get('batch_parent_id')).replace(/^staged:/, '');
      byBatch.set(batchId, [...(byBatch.get(batchId) ?? []), doc.id]);
    }
    if (byBatch.size === 0) return;
    const parents = await this.db.getAll(...[...byBatch.keys()].map((id) => this.jobRef(id)));
    const orphans = parents.filter((p) => !p.exists).flatMap((p) => byBatch.get(p.id)!);
    if (orphans.length > 0) await this.deleteStaged(orphans);
  }

  private async jobPage(segments: Segment[], ordering: string, page: PageRequest): Promise<Page<Job>> {
    return readPage(segments, ordering, resolvePageRequest(page, DEFAULT_PAGE_SIZE), async (docs) =>
      (await Promise.all(docs.map((d) => this.loaded(d)))).map((l) => l!.job),
    );
  }

  private async deleteStaged(ids: string[]): Promise<void> {
    await bulk(this.db, (writer) => ids.map((id) => writer.delete(this.jobRef(id))));
  }

  /** Step 3 of createBatch: the staged children become the batch's (the caller then marks the batch ready). */
  private async unstage(batchId: string, refs: DocumentReference[]): Promise<void> {
    await bulk(this.db, (writer) =>
      refs.map((ref) =>
        writer.update(ref, { job_type: 'BATCH_CHILD', batch_parent_id: batchId, changed_at: FieldValue.serverTimestamp() }),
      ),
    );
  }

  /**
   * Ends every open child of a cancel-requested batch, `chunkSize` per transaction. The staged
   * ones too: a batch cancelled while createBatch still makes its children visible would
   * otherwise see them appear open afterwards. Staged ones go first, each time round: once
   * none is left staged every child is visible, so the visible pass that follows misses none.
   */
  private async cancelChildren(batchId: string, now: Date): Promise<void> {
    const token = randomUUID();
    const chunk = (parentField: string) =>
      this.db.runTransaction(async (tx) => {
        const open = await tx.get(
          this.db.collection(JOBS).where('batch_parent_id', '==', parentField).where('status', 'in', OPEN).limit(this.chunkSize),
        );
        const loaded = await Promise.all(open.docs.map((d) => this.loaded(d, batchId)));
        const deltas: Deltas = new Map();
        for (const l of loaded) {
          if (l) this.transition(tx, l, 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now }, deltas, token);
        }
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
        return open.size;
      });
    while ((await chunk(`staged:${batchId}`)) > 0);
    while ((await chunk(batchId)) > 0);
  }

  /**
   * Moves the failed children of a batch marked `retry_requested_at` back to QUEUED, by index
   * from its `retry_cursor`, `chunkSize` per transaction, then clears the mark and finalizes
   * the batch (its children may all have ended again meanwhile). Stops at a cancel.
   */
  private async retryChildren(batchId: string, now: Date): Promise<Job[]> {
    const parentRef = this.jobRef(batchId);
    const retried: Job[] = [];
    for (;;) {
      const token = randomUUID(); // one per chunk: a re-run finds exactly that chunk's children by it
      const moved = await this.db.runTransaction(async (tx) => {
        const parent = await tx.get(parentRef);
        if (parent.get(COMMIT_TOKEN) === token) {
          // A re-run after our commit's reply was lost: the cursor has moved past the chunk it retried.
          const mine = await tx.get(this.children(batchId).where(COMMIT_TOKEN, '==', token));
          return (await Promise.all(mine.docs.map((d) => this.loaded(d))))
            .filter((l): l is Loaded => l !== null)
            .map((l) => l.job);
        }
        const cursor = parent.get('retry_cursor') as number | undefined;
        if (parent.get('retry_requested_at') == null || cursor === undefined) return null;
        const failed =
          parent.get('cancel_requested') === true
            ? null
            : await tx.get(
                this.children(batchId)
                  .where('status', '==', 'failed')
                  .orderBy('batch_index')
                  .startAfter(cursor)
                  .limit(this.chunkSize),
              );
        if (!failed || failed.empty) {
          tx.update(parentRef, { retry_requested_at: FieldValue.delete(), retry_cursor: FieldValue.delete() });
          return null;
        }
        const loaded = (await Promise.all(failed.docs.map((d) => this.loaded(d)))).filter((l): l is Loaded => l !== null);
        const deltas: Deltas = new Map();
        const jobs = loaded.map((l) =>
          this.transition(
            tx,
            { ...l, gpuMsBeforeRetry: l.job.usage?.gpuMs ?? 0 },
            'QUEUED',
            now,
            { error: null, completedAt: null, attemptsBeforeRetry: l.job.attempts },
            deltas,
            token,
          ),
        );
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
        tx.update(parentRef, {
          retry_cursor: failed.docs[failed.docs.length - 1]!.get('batch_index') as number,
          [COMMIT_TOKEN]: token,
        });
        return jobs;
      });
      if (moved === null) break;
      retried.push(...moved);
    }
    await this.finalize(batchId, now);
    return retried;
  }

  /**
   * The reaper's repairs, a few batches per call: batches whose children a dead process left
   * staged, staged children whose batch never came (a crash before its transaction), the
   * children of a cancelled batch and of a retry a dead process left open, and open batches
   * whose every child ended but which were not finalized (the process died between the
   * child's transaction and the batch's), round-robin by id. Each repair fails alone: its
   * error goes to `onError` and the others still run.
   */
  private async sweep(now: Date): Promise<void> {
    const repair = (what: string, run: () => Promise<unknown>) =>
      run().catch((error: unknown) => this.onError(error, `sweep: ${what}`));
    await repair('deleting orphaned staged children', () => this.deleteOrphans(now));
    await repair('finishing staged batches', async () => {
      const staging = await this.db.collection(JOBS).where('children_state', '==', 'staging').limit(5).get();
      for (const parent of staging.docs) {
        await repair(`unstaging the children of batch ${parent.id}`, async () => {
          const staged = await this.db.collection(JOBS).where('batch_parent_id', '==', `staged:${parent.id}`).get();
          await this.unstage(
            parent.id,
            staged.docs.map((d) => d.ref),
          );
          await parent.ref.update({ children_state: 'ready', children_ready_at: Timestamp.fromDate(now) });
        });
      }
    });
    await repair('finalizing open batches', async () => {
      let open = this.db
        .collection(JOBS)
        .where('job_type', '==', 'BATCH_PARENT')
        .where('status', 'in', ['pending', 'running'])
        .orderBy('job_id')
        .limit(5);
      if (this.sweepAfter !== null) open = open.startAfter(this.sweepAfter);
      const batches = await open.get();
      this.sweepAfter = batches.docs.length < 5 ? null : batches.docs[batches.docs.length - 1]!.id;
      await Promise.all(
        batches.docs.map((doc) =>
          repair(`finalizing batch ${doc.id}`, async () => {
            if (doc.get('cancel_requested') === true) await this.cancelChildren(doc.id, now);
            // A live retryFailed walks its own children; one older than the grace was left by a dead process.
            const retry = doc.get('retry_requested_at') as Timestamp | null | undefined;
            if (retry != null && retry.toMillis() < now.getTime() - this.stagedGraceMs) await this.retryChildren(doc.id, now);
            else await this.finalize(doc.id, now);
          }),
        ),
      );
    });
  }
}

/** Adds the filters a listing may have; `status` and `model` are stored lowercase. */
function matching<Q extends { where(field: string, op: '==', value: unknown): Q }>(
  query: Q,
  filter: { status?: string | null; model?: string | null },
): Q {
  let q = query;
  if (filter.status) q = q.where('status', '==', filter.status.toLowerCase());
  if (filter.model) q = q.where('model', '==', filter.model.toLowerCase());
  return q;
}

/**
 * Names a list in its cursors: the ordering and every filter, so a cursor handed to another
 * list (another batch, another filter) is refused instead of paging the wrong rows.
 */
function listName(ordering: string, filter: object): string {
  return `${ordering}:${JSON.stringify(filter)}`;
}
