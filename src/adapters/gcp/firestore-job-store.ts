import { createHash } from 'node:crypto';
import {
  AggregateField,
  FieldValue,
  Timestamp,
  type BulkWriter,
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
}

/** `idempotency_keys/{sha256(kind, owner, key)}` = { target_id }: one per owner and key. */
const IDEMPOTENCY = 'idempotency_keys';
const OPEN = ['pending', 'queued', 'running'];
/** Orphaned staged children one sweep deletes at most. @default 500 // documents */
const ORPHANS_PER_SWEEP = 500;

/** A job read inside a transaction, with what only the store keeps. */
interface Loaded {
  job: Job;
  ref: DocumentReference;
  gpuMsBeforeRetry: number;
}

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
 *    then the parent becomes `children_state: ready`. If the process dies during 3, the
 *    reaper's sweep finds the parent still `staging` and finishes the step (idempotent).
 * A crash during 1 leaves staged children no parent refers to: invisible, but counted by
 * quotas until the reaper's sweep deletes them, once older than `stagedGraceMs`.
 */
export class FirestoreJobStore implements JobStore {
  private readonly payloads: PayloadStore;
  private readonly pingTimeoutMs: number;
  private readonly chunkSize: number;
  private readonly stagedGraceMs: number;
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
  }

  async createJob(job: Job, admission?: Admission): Promise<{ job: Job; created: boolean }> {
    const texts = await this.storeTexts(job.protein);
    const first = await this.db.runTransaction(async (tx) => {
      const key = job.idempotencyKey === null ? null : this.keyRef('job', job.owner, job.idempotencyKey);
      if (key) {
        const taken = await tx.get(key);
        if (taken.exists) return (taken.get('target_id') as string) ?? null;
      }
      if (admission) await admitInTransaction(tx, this.db, admission, job.createdAt);
      tx.create(this.jobRef(job.id), { ...jobToDoc(job, texts), changed_at: FieldValue.serverTimestamp() });
      if (key) tx.create(key, { target_id: job.id, owner: job.owner });
      return null;
    });
    if (first === null) return { job, created: true };
    return { job: (await this.getJobs([first]))[0]!, created: false };
  }

  async createBatch(batch: Batch, children: Job[], admission?: Admission): Promise<{ batch: Batch; created: boolean }> {
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
    let first: string | null;
    try {
      first = await this.db.runTransaction(async (tx) => {
        if (key) {
          const taken = await tx.get(key);
          if (taken.exists) return taken.get('target_id') as string;
        }
        if (admission) {
          // The staged children count in usageOf (every subject of the batch is theirs too): they are this demand.
          const own = {
            jobs: children.length,
            createdAt: batch.createdAt,
            gpuMs: children.reduce((n, c) => n + c.estimatedGpuMs, 0),
          };
          await admitInTransaction(tx, this.db, admission, batch.createdAt, own);
        }
        tx.create(this.jobRef(batch.id), {
          ...batchToDoc(batch, texts!, SHARDS),
          children_state: 'staging',
          changed_at: FieldValue.serverTimestamp(),
        });
        createShards(tx, this.db, batch.id);
        if (key) tx.create(key, { target_id: batch.id, owner: batch.owner });
        return null;
      });
    } catch (error) {
      await this.deleteStaged(children.map((c) => c.id));
      throw error;
    }
    if (first !== null) {
      await this.deleteStaged(children.map((c) => c.id));
      return { batch: await this.mustGetBatch(first), created: false };
    }
    await this.unstage(
      batch.id,
      children.map((c) => this.jobRef(c.id)),
    );
    return { batch, created: true };
  }

  async quotaUsage(subject: QuotaSubject, windows: QuotaWindows): Promise<QuotaUsage> {
    return usageOf(this.db, subject, windows);
  }

  async markQueued(jobIds: string[], now: Date): Promise<void> {
    for (let start = 0; start < jobIds.length; start += this.chunkSize) {
      const refs = [...new Set(jobIds.slice(start, start + this.chunkSize))].map((id) => this.jobRef(id));
      await this.db.runTransaction(async (tx) => {
        const loaded = await this.loadAll(tx, refs);
        const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
        for (const l of loaded) {
          if (l?.job.status !== 'PENDING') continue;
          this.transition(tx, l, 'QUEUED', now, {}, deltas);
        }
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      });
    }
  }

  async claim(jobId: string, now: Date, leaseMs: number): Promise<ClaimOutcome> {
    return this.db.runTransaction(async (tx): Promise<ClaimOutcome> => {
      const l = await this.load(tx, jobId);
      if (!l) return { claimed: false, reason: 'NOT_FOUND', job: null };
      const job = l.job;
      if (job.status === 'COMPLETED' || job.status === 'FAILED') return { claimed: false, reason: 'FINISHED', job };
      if (job.status === 'CANCELLED') return { claimed: false, reason: 'CANCELLED', job };
      const leaseLive = job.status === 'RUNNING' && (job.leaseExpiresAt?.getTime() ?? 0) > now.getTime();
      if (leaseLive) return { claimed: false, reason: 'LEASED', job };
      let parent: DocumentSnapshot | null = null;
      if (job.batchId !== null) {
        parent = await tx.get(this.jobRef(job.batchId));
        const maxConcurrent = parent.get('max_concurrent') as number | null | undefined;
        if (job.status !== 'RUNNING' && maxConcurrent != null) {
          if ((await lockedRunning(tx, this.db, job.batchId)) >= maxConcurrent)
            return { claimed: false, reason: 'THROTTLED', job };
        }
      }
      const attempt = job.attempts + 1;
      const patch = { attempts: attempt, leaseExpiresAt: new Date(now.getTime() + leaseMs), startedAt: now };
      const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
      // A task may arrive before its job was marked QUEUED: take PENDING → QUEUED on the way. A
      // RUNNING job here is one whose lease expired: the new attempt takes it over.
      if (job.status === 'PENDING') assertTransition(job.id, 'PENDING', 'QUEUED');
      const claimed = this.transition(tx, l, 'RUNNING', now, patch, deltas, job.status === 'PENDING' ? 'QUEUED' : undefined);
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
      const l = await this.heldBy(tx, jobId, attempt);
      if (!l) return false;
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
    const abandoned: Job[] = [];
    for (let start = 0; start < jobIds.length; start += this.chunkSize) {
      const refs = [...new Set(jobIds.slice(start, start + this.chunkSize))].map((id) => this.jobRef(id));
      const jobs = await this.db.runTransaction(async (tx) => {
        const loaded = await this.loadAll(tx, refs);
        const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
        const moved = loaded
          .filter((l): l is Loaded => l?.job.status === 'QUEUED')
          .map((l) => this.transition(tx, l, 'FAILED', now, { error, completedAt: now }, deltas));
        for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
        return moved;
      });
      abandoned.push(...jobs);
    }
    await this.finalizeBatchesOf(abandoned, now);
    return abandoned;
  }

  async requeueExpired(now: Date, limit: number): Promise<Job[]> {
    await this.sweep(now);
    const expired = await this.db
      .collection(JOBS)
      .where('status', '==', 'running')
      .where('lease_expires_at', '<=', Timestamp.fromDate(now))
      .orderBy('lease_expires_at')
      .limit(limit)
      .get();
    // One transaction per job, side by side: they touch different jobs and only add to shards blindly.
    const requeued = await Promise.all(
      expired.docs.map((doc) =>
        this.db.runTransaction(async (tx) => {
          const l = await this.load(tx, doc.id);
          if (!l || l.job.status !== 'RUNNING' || (l.job.leaseExpiresAt?.getTime() ?? Infinity) > now.getTime()) return null;
          const error = { code: 'LEASE_EXPIRED', message: `attempt ${l.job.attempts} stopped answering`, retryable: true };
          const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
          const next = this.transition(tx, l, 'QUEUED', now, { error, leaseExpiresAt: null }, deltas);
          for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
          return next;
        }),
      ),
    );
    return requeued.filter((job): job is Job => job !== null);
  }

  async listStalePending(olderThan: Date, limit: number): Promise<Job[]> {
    return this.staleJobs('pending', 'created_at', olderThan, limit);
  }

  async listStaleQueued(olderThan: Date, limit: number): Promise<Job[]> {
    return this.staleJobs('queued', 'updated_at', olderThan, limit);
  }

  async cancelJob(owner: string, jobId: string, now: Date): Promise<Job> {
    const job = await this.db.runTransaction(async (tx) => {
      const l = await this.load(tx, jobId);
      if (!l || l.job.owner !== owner) throw new NotFoundError('Job', jobId);
      if (isTerminal(l.job.status))
        throw new ConflictError(`job ${jobId} has already ended ${l.job.status}; only a job not yet finished can be cancelled`);
      const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
      const next = this.transition(tx, l, 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now }, deltas);
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      return next;
    });
    await this.finalizeBatchesOf([job], now);
    return job;
  }

  async cancelBatch(owner: string, batchId: string, now: Date): Promise<Batch> {
    await this.db.runTransaction(async (tx) => {
      const parent = await tx.get(this.jobRef(batchId));
      const batch = parent.exists ? await this.batchOf(parent, tx) : null;
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested || batch.status === 'COMPLETED' || batch.status === 'FAILED') {
        throw new ConflictError(
          `batch ${batchId} has already ended ${batch.status}; only a batch not yet finished can be cancelled`,
        );
      }
      const open = await tx.get(this.children(batchId).where('status', 'in', OPEN));
      const loaded = await Promise.all(open.docs.map((d) => this.loaded(d)));
      const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
      const counts = { ...batch.counts };
      for (const l of loaded) {
        if (!l) continue;
        counts[l.job.status.toLowerCase() as keyof typeof counts] -= 1;
        counts.cancelled += 1;
        this.transition(tx, l, 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now }, deltas);
      }
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      const status = batchStatusFrom(counts, batch.total, true, batch.startedAt !== null);
      this.writeBatchStatus(tx, batch, status, now, { cancel_requested: true });
    });
    return this.mustGetBatch(batchId);
  }

  async retryFailed(
    owner: string,
    batchId: string,
    now: Date,
    admission?: RetryAdmission,
  ): Promise<{ batch: Batch; jobs: Job[] }> {
    const jobs = await this.db.runTransaction(async (tx) => {
      const parent = await tx.get(this.jobRef(batchId));
      const batch = parent.exists ? await this.batchOf(parent, tx) : null;
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested) throw new ConflictError(`batch ${batchId} was cancelled; its failed jobs cannot be retried`);
      const failedDocs = await tx.get(this.children(batchId).where('status', '==', 'failed'));
      const failed = (await Promise.all(failedDocs.docs.map((d) => this.loaded(d)))).filter((l): l is Loaded => l !== null);
      if (failed.length === 0) throw new ConflictError(`batch ${batchId} has no failed jobs to retry`);
      if (admission) {
        // Each retried job opens again and runs again: its estimate counts on top of what it recorded.
        const estimatedGpuMs = failed.reduce((sum, l) => sum + l.job.estimatedGpuMs, 0);
        await admitInTransaction(
          tx,
          this.db,
          { ...admission, demand: { jobs: failed.length, newJobs: 0, batchSize: null, estimatedGpuMs } },
          now,
        );
      }
      const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
      const counts = {
        ...batch.counts,
        queued: batch.counts.queued + failed.length,
        failed: batch.counts.failed - failed.length,
      };
      const moved = failed
        .sort((a, b) => (a.job.batchIndex ?? 0) - (b.job.batchIndex ?? 0))
        .map((l) =>
          this.transition(
            tx,
            { ...l, gpuMsBeforeRetry: l.job.usage?.gpuMs ?? 0 },
            'QUEUED',
            now,
            { error: null, completedAt: null, attemptsBeforeRetry: l.job.attempts },
            deltas,
          ),
        );
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      const status = batchStatusFrom(counts, batch.total, false, batch.startedAt !== null);
      this.writeBatchStatus(tx, batch, status, now, { completed_at: null });
      return moved;
    });
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

  private async loaded(s: DocumentSnapshot): Promise<Loaded | null> {
    const d = parseJobDoc(s.ref.path, s.data());
    const job = await this.withTexts(d, () => jobFromDoc(s.id, d, (f) => this.payloads.text(f)));
    return job ? { job, ref: s.ref, gpuMsBeforeRetry: d.gpu_ms_before_retry } : null;
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

  private async heldBy(tx: Transaction, jobId: string, attempt: number): Promise<Loaded | null> {
    const l = await this.load(tx, jobId);
    return l && l.job.status === 'RUNNING' && l.job.attempts === attempt ? l : null;
  }

  /** A batch with its counters summed from its shards (or, for a legacy batch, its children). */
  private async batchOf(s: DocumentSnapshot, tx?: Transaction): Promise<Batch> {
    const d = parseBatchDoc(s.ref.path, s.data());
    const base = await this.withTexts(d, () => batchFromDoc(s.id, d, (f) => this.payloads.text(f)));
    const { counts, usage, total } = await this.countersOf(s.id, d, tx);
    const status = batchStatusFrom(counts, total, base.cancelRequested, base.startedAt !== null);
    return { ...base, status, total, counts, usage };
  }

  private async countersOf(batchId: string, d: BatchDoc, tx?: Transaction) {
    if (d.counter_shards !== undefined) {
      const total = d.total ?? 0;
      return { total, ...(await sumShards(this.db, batchId, total, tx)) };
    }
    // A batch written before counter shards: its counts are its children's.
    const children = this.children(batchId);
    const counted = await Promise.all(JOB_STATUSES.map((s) => children.where('status', '==', s.toLowerCase()).count().get()));
    const counts = Object.fromEntries(
      JOB_STATUSES.map((s, i) => [s.toLowerCase(), counted[i]!.data().count]),
    ) as unknown as Batch['counts'];
    const sums = (
      await children
        .aggregate({
          r: AggregateField.sum('usage.runtime_ms'),
          g: AggregateField.sum('usage.gpu_ms'),
          c: AggregateField.sum('usage.cost_nano_usd'),
        })
        .get()
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
   * RUNNING in one claim).
   */
  private transition(
    tx: Transaction,
    l: Loaded,
    to: JobStatus,
    now: Date,
    patch: Partial<Job>,
    deltas: Map<string, { ref: DocumentReference; delta: CounterDelta }>,
    via?: JobStatus,
    usage?: Usage,
  ): Job {
    const from = l.job.status;
    if (via) {
      assertTransition(l.job.id, from, via);
      assertTransition(l.job.id, via, to);
    } else if (from !== to || to !== 'RUNNING') assertTransition(l.job.id, from, to);
    const next: Job = { ...l.job, ...patch, status: to, updatedAt: now };
    if (usage) next.usage = addUsage(l.job.usage, usage);
    tx.update(l.ref, { ...jobStateFields(next, l.gpuMsBeforeRetry), changed_at: FieldValue.serverTimestamp() });
    if (l.job.batchId !== null) {
      const shard = shardOf(this.db, l.job.batchId, l.job.batchIndex);
      let entry = deltas.get(shard.path);
      if (!entry) deltas.set(shard.path, (entry = { ref: shard, delta: emptyDelta() }));
      addTransition(entry.delta, from, to);
      if (usage) addUsageDelta(entry.delta, usage);
    }
    return next;
  }

  /** complete, fail and release: the attempt that holds the lease ends it. */
  private async finish(
    jobId: string,
    attempt: number,
    to: JobStatus,
    now: Date,
    usage: Usage | undefined,
    patch: Partial<Job>,
  ): Promise<Job | null> {
    if (usage) assertUsage(usage);
    const job = await this.db.runTransaction(async (tx) => {
      const l = await this.heldBy(tx, jobId, attempt);
      if (!l) return null;
      const deltas = new Map<string, { ref: DocumentReference; delta: CounterDelta }>();
      const next = this.transition(tx, l, to, now, patch, deltas, undefined, usage);
      for (const { ref, delta } of deltas.values()) writeDelta(tx, ref, delta);
      return next;
    });
    if (job && isTerminal(job.status)) await this.finalizeBatchesOf([job], now);
    return job;
  }

  private async finalizeBatchesOf(jobs: Job[], now: Date): Promise<void> {
    const batches = new Set(jobs.map((j) => j.batchId).filter((id): id is string => id !== null));
    await Promise.all([...batches].map((id) => this.finalize(id, now)));
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

  /** Step 3 of createBatch: the staged children become the batch's, then the batch says so. */
  private async unstage(batchId: string, refs: DocumentReference[]): Promise<void> {
    await bulk(this.db, (writer) =>
      refs.map((ref) =>
        writer.update(ref, { job_type: 'BATCH_CHILD', batch_parent_id: batchId, changed_at: FieldValue.serverTimestamp() }),
      ),
    );
    await this.jobRef(batchId).update({ children_state: 'ready' });
  }

  /**
   * The reaper's repairs, a few batches per call: batches whose children a dead process left
   * staged, staged children whose batch never came (a crash before its transaction), and open
   * batches whose every child ended but which were not finalized (the process died between
   * the child's transaction and the batch's), round-robin by id.
   */
  private async sweep(now: Date): Promise<void> {
    await this.deleteOrphans(now);
    const staging = await this.db.collection(JOBS).where('children_state', '==', 'staging').limit(5).get();
    for (const parent of staging.docs) {
      const staged = await this.db.collection(JOBS).where('batch_parent_id', '==', `staged:${parent.id}`).get();
      if (staged.docs.length > 0 && staged.docs.every((d) => d.get('job_type') === STAGED_CHILD)) {
        await this.unstage(
          parent.id,
          staged.docs.map((d) => d.ref),
        );
      } else await parent.ref.update({ children_state: 'ready' });
    }
    let open = this.db
      .collection(JOBS)
      .where('job_type', '==', 'BATCH_PARENT')
      .where('status', 'in', ['pending', 'running'])
      .orderBy('job_id')
      .limit(5);
    if (this.sweepAfter !== null) open = open.startAfter(this.sweepAfter);
    const batches = await open.get();
    this.sweepAfter = batches.docs.length < 5 ? null : batches.docs[batches.docs.length - 1]!.id;
    await Promise.all(batches.docs.map((doc) => this.finalize(doc.id, now)));
  }
}

/**
 * Runs the writes `ops` queues on a BulkWriter and rejects with the first write that failed
 * for good (BulkWriter retries transient ones), instead of leaving it an unhandled rejection.
 */
async function bulk(db: Firestore, ops: (writer: BulkWriter) => Promise<unknown>[]): Promise<void> {
  const writer = db.bulkWriter();
  const all = Promise.all(ops(writer));
  await writer.close();
  await all;
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
