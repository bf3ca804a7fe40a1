import type { Batch, Job, JobError, JobStatus, Result, Usage } from '../../domain/job.js';
import { JOB_STATUSES, countKey } from '../../domain/job.js';
import { addUsage, assertUsage } from '../../domain/cost.js';
import { assertTransition, batchStatusFrom, isBatchTerminal, isTerminal } from '../../domain/status.js';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import {
  admit,
  type Admission,
  type RetryAdmission,
  type QuotaSubject,
  type QuotaUsage,
  type QuotaWindows,
} from '../../domain/quota.js';
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
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './sqlite/database.js';
import { GPU_MS_COUNTED, GPU_ROWS, migrateJobSchema } from './sqlite/job-schema.js';
import { ENQUEUE_WEBHOOK_DELIVERY, enqueueWebhookParams } from './sqlite/webhook-schema.js';
import { batchFromRow, batchToRow, jobFromRow, jobToRow, type BatchRow, type JobRow } from './sqlite/job-rows.js';
import { readPage, resolvePageRequest, type Segment } from './sqlite/keyset.js';

/**
 * The `jobs` columns a new job sets, in the order of the store's inserts. Usage columns are
 * not among them: a new job has none (NULL) until a worker reports one.
 */
export const JOB_COLUMNS: (keyof JobRow)[] = [
  'id',
  'owner',
  'kind',
  'model',
  'name',
  'status',
  'ligand',
  'protein',
  'parameters',
  'batch_id',
  'batch_index',
  'result',
  'error',
  'affinity',
  'confidence',
  'attempts',
  'attempts_before_retry',
  'lease_expires_at',
  'estimate_gpu_ms',
  'organization_id',
  'shared_with_org',
  'created_at',
  'updated_at',
  'started_at',
  'completed_at',
  'idempotency_key',
];

/**
 * The embedded JobStore on one SQLite file. Writes run in IMMEDIATE transactions (the
 * write lock is taken before the first read, so two processes never act on a stale read);
 * each one appends to `job_changes` in the same transaction, and `onCommit` tells this
 * process's change feed at once.
 */
export class SqliteJobStore implements JobStore {
  private readonly insertJob;
  private readonly insertBatch;
  private readonly insertChange;
  private readonly selectJob;
  private readonly selectBatch;
  private readonly statements = new Map<string, Statement<unknown[], unknown>>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly onCommit: () => void = () => {},
  ) {
    migrateJobSchema(db);
    this.insertJob = db.prepare(
      `INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map((c) => '@' + c).join(', ')})`,
    );
    this.insertBatch = db.prepare(
      `INSERT INTO batches (id, owner, name, model, status, protein, parameters, max_concurrent, total, pending, queued,
         running, completed, failed, cancelled, cancel_requested, usage_runtime_ms, usage_gpu_ms, usage_cost_nano_usd,
         webhook_url, organization_id, shared_with_org, created_at, updated_at, started_at, completed_at, idempotency_key)
       VALUES (@id, @owner, @name, @model, @status, @protein, @parameters, @max_concurrent, @total, @pending, @queued,
         @running, @completed, @failed, @cancelled, @cancel_requested, @usage_runtime_ms, @usage_gpu_ms, @usage_cost_nano_usd,
         @webhook_url, @organization_id, @shared_with_org, @created_at, @updated_at, @started_at, @completed_at, @idempotency_key)`,
    );
    this.insertChange = db.prepare('INSERT INTO job_changes (job_id, batch_id, at) VALUES (?, ?, ?)');
    this.selectJob = db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?');
    this.selectBatch = db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?');
  }

  async createJob(job: Job, admission?: Admission): Promise<{ job: Job; created: boolean }> {
    return this.write(() => {
      const first = this.firstSubmission<JobRow>('jobs', job);
      if (first) return { job: jobFromRow(first), created: false };
      if (admission) this.admit(admission);
      this.insertJob.run(jobToRow(job));
      this.insertChange.run(job.id, null, job.createdAt.getTime());
      return { job, created: true };
    });
  }

  async createBatch(batch: Batch, children: Job[], admission?: Admission): Promise<{ batch: Batch; created: boolean }> {
    return this.write(() => {
      const first = this.firstSubmission<BatchRow>('batches', batch);
      if (first) return { batch: batchFromRow(first), created: false };
      if (admission) this.admit(admission);
      this.insertBatch.run(batchToRow(batch));
      for (const child of children) this.insertJob.run(jobToRow(child));
      this.insertChange.run(null, batch.id, batch.createdAt.getTime());
      return { batch, created: true };
    });
  }

  async quotaUsage(subject: QuotaSubject, windows: QuotaWindows): Promise<QuotaUsage> {
    return this.usageOf(subject, windows);
  }

  async markQueued(jobIds: string[], now: Date): Promise<void> {
    // Set-based: a 100,000-ligand batch is queued in one statement per 500 ids, with its
    // counters moved once per batch (PENDING → QUEUED is the only edge taken here).
    this.write(() => {
      const queuedPerBatch = new Map<string, number>();
      for (let start = 0; start < jobIds.length; start += 500) {
        const ids = jobIds.slice(start, start + 500);
        const marks = ids.map(() => '?').join(', ');
        const moved = this.stmt<unknown[], { id: string; batch_id: string | null }>(
          `UPDATE jobs SET status = 'QUEUED', updated_at = ? WHERE id IN (${marks}) AND status = 'PENDING' RETURNING id, batch_id`,
        ).all(now.getTime(), ...ids);
        for (const { id, batch_id } of moved) {
          this.insertChange.run(id, batch_id, now.getTime());
          if (batch_id !== null) queuedPerBatch.set(batch_id, (queuedPerBatch.get(batch_id) ?? 0) + 1);
        }
      }
      for (const [batchId, n] of queuedPerBatch) {
        this.stmt('UPDATE batches SET pending = pending - ?, queued = queued + ? WHERE id = ?').run(n, n, batchId);
        this.recomputeBatchStatus(batchId, now);
      }
    });
  }

  async claim(jobId: string, now: Date, leaseMs: number): Promise<ClaimOutcome> {
    return this.write((): ClaimOutcome => {
      const job = this.jobRow(jobId);
      if (!job) return { claimed: false, reason: 'NOT_FOUND', job: null };
      if (job.status === 'COMPLETED' || job.status === 'FAILED') return { claimed: false, reason: 'FINISHED', job };
      if (job.status === 'CANCELLED') return { claimed: false, reason: 'CANCELLED', job };
      const leaseLive = job.status === 'RUNNING' && (job.leaseExpiresAt?.getTime() ?? 0) > now.getTime();
      if (leaseLive) return { claimed: false, reason: 'LEASED', job };
      if (job.batchId !== null && job.status !== 'RUNNING') {
        const batch = this.batchRow(job.batchId)!;
        if (batch.maxConcurrent !== null && batch.counts.running >= batch.maxConcurrent) {
          return { claimed: false, reason: 'THROTTLED', job };
        }
      }
      // A task may arrive before its jobs were marked QUEUED (enqueue comes first): take the
      // edge PENDING → QUEUED on the way. A RUNNING job here is one whose lease expired: the
      // new attempt takes it over without leaving RUNNING.
      if (job.status === 'PENDING') this.transition(job, 'QUEUED', now, {});
      const current = this.jobRow(jobId)!;
      const attempt = current.attempts + 1;
      const patch = { attempts: attempt, leaseExpiresAt: new Date(now.getTime() + leaseMs), startedAt: now };
      const claimed =
        current.status === 'RUNNING' ? this.update(current, patch, now) : this.transition(current, 'RUNNING', now, patch);
      return { claimed: true, job: claimed, attempt };
    });
  }

  async renewLease(jobId: string, attempt: number, now: Date, leaseMs: number): Promise<boolean> {
    return this.write(() => {
      const job = this.heldBy(jobId, attempt);
      if (!job) return false;
      this.stmt('UPDATE jobs SET lease_expires_at = ? WHERE id = ?').run(now.getTime() + leaseMs, jobId);
      return true;
    });
  }

  async complete(jobId: string, attempt: number, result: Result, now: Date, usage?: Usage): Promise<Job | null> {
    if (usage) assertUsage(usage);
    return this.write(() => {
      const job = this.heldBy(jobId, attempt);
      if (!job) return null;
      const done = this.transition(job, 'COMPLETED', now, {
        result,
        error: null,
        leaseExpiresAt: null,
        completedAt: now,
        ...this.charge(job, usage),
      });
      const affinity = result.affinity?.value;
      if (job.batchId !== null && affinity !== undefined) {
        this.stmt(
          `UPDATE batches SET affinity_count = affinity_count + 1, affinity_sum = affinity_sum + ?,
               affinity_best = min(coalesce(affinity_best, ?), ?) WHERE id = ?`,
        ).run(affinity, affinity, affinity, job.batchId);
      }
      return done;
    });
  }

  async fail(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null> {
    if (usage) assertUsage(usage);
    return this.write(() => {
      const job = this.heldBy(jobId, attempt);
      if (!job) return null;
      return this.transition(job, 'FAILED', now, { error, leaseExpiresAt: null, completedAt: now, ...this.charge(job, usage) });
    });
  }

  async release(jobId: string, attempt: number, error: JobError, now: Date, usage?: Usage): Promise<Job | null> {
    if (usage) assertUsage(usage);
    return this.write(() => {
      const job = this.heldBy(jobId, attempt);
      if (!job) return null;
      return this.transition(job, 'QUEUED', now, { error, leaseExpiresAt: null, ...this.charge(job, usage) });
    });
  }

  async abandon(jobIds: string[], error: JobError, now: Date): Promise<Job[]> {
    return this.write(() =>
      jobIds.flatMap((id) => {
        const job = this.jobRow(id);
        return job?.status === 'QUEUED' ? [this.transition(job, 'FAILED', now, { error, completedAt: now })] : [];
      }),
    );
  }

  async requeueExpired(now: Date, limit: number): Promise<Job[]> {
    return this.write(() => {
      const rows = this.stmt<[number, number], JobRow>(
        `SELECT * FROM jobs WHERE status = 'RUNNING' AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?`,
      ).all(now.getTime(), limit);
      return rows.map((row) => {
        const job = jobFromRow(row);
        const error = { code: 'LEASE_EXPIRED', message: `attempt ${job.attempts} stopped answering`, retryable: true };
        return this.transition(job, 'QUEUED', now, { error, leaseExpiresAt: null });
      });
    });
  }

  async listStaleQueued(olderThan: Date, limit: number): Promise<Job[]> {
    return this.stmt<[number, number], JobRow>(
      `SELECT * FROM jobs WHERE status = 'QUEUED' AND updated_at < ? ORDER BY updated_at LIMIT ?`,
    )
      .all(olderThan.getTime(), limit)
      .map(jobFromRow);
  }

  async listStalePending(olderThan: Date, limit: number): Promise<Job[]> {
    return this.stmt<[number, number], JobRow>(
      `SELECT * FROM jobs WHERE status = 'PENDING' AND created_at < ? ORDER BY created_at LIMIT ?`,
    )
      .all(olderThan.getTime(), limit)
      .map(jobFromRow);
  }

  async cancelJob(owner: string, jobId: string, now: Date): Promise<Job> {
    return this.write(() => {
      const job = this.jobRow(jobId);
      if (!job || job.owner !== owner) throw new NotFoundError('Job', jobId);
      if (isTerminal(job.status))
        throw new ConflictError(`job ${jobId} has already ended ${job.status}; only a job not yet finished can be cancelled`);
      return this.transition(job, 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now });
    });
  }

  async cancelBatch(owner: string, batchId: string, now: Date): Promise<Batch> {
    return this.write(() => {
      const batch = this.batchRow(batchId);
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested || batch.status === 'COMPLETED' || batch.status === 'FAILED') {
        throw new ConflictError(
          `batch ${batchId} has already ended ${batch.status}; only a batch not yet finished can be cancelled`,
        );
      }
      this.stmt('UPDATE batches SET cancel_requested = 1 WHERE id = ?').run(batchId);
      const open = this.stmt<[string], JobRow>(
        `SELECT * FROM jobs WHERE batch_id = ? AND status IN ('PENDING', 'QUEUED', 'RUNNING')`,
      ).all(batchId);
      for (const row of open) this.transition(jobFromRow(row), 'CANCELLED', now, { leaseExpiresAt: null, completedAt: now });
      this.recomputeBatchStatus(batchId, now);
      this.insertChange.run(null, batchId, now.getTime());
      return this.batchRow(batchId)!;
    });
  }

  async retryFailed(
    owner: string,
    batchId: string,
    now: Date,
    admission?: RetryAdmission,
  ): Promise<{ batch: Batch; jobs: Job[] }> {
    return this.write(() => {
      const batch = this.batchRow(batchId);
      if (!batch || batch.owner !== owner) throw new NotFoundError('Batch', batchId);
      if (batch.cancelRequested) throw new ConflictError(`batch ${batchId} was cancelled; its failed jobs cannot be retried`);
      const failed = this.stmt<[string], JobRow>(
        `SELECT * FROM jobs WHERE batch_id = ? AND status = 'FAILED' ORDER BY batch_index`,
      ).all(batchId);
      if (failed.length === 0) throw new ConflictError(`batch ${batchId} has no failed jobs to retry`);
      if (admission) {
        // Each retried job opens again and runs again: its estimate counts on top of what it recorded.
        const estimatedGpuMs = failed.reduce((sum, row) => sum + row.estimate_gpu_ms, 0);
        this.admit({ ...admission, demand: { jobs: failed.length, newJobs: 0, batchSize: null, estimatedGpuMs } });
      }
      this.stmt(`UPDATE jobs SET gpu_ms_before_retry = coalesce(usage_gpu_ms, 0) WHERE batch_id = ? AND status = 'FAILED'`).run(
        batchId,
      );
      const jobs = failed.map((row) =>
        this.transition(jobFromRow(row), 'QUEUED', now, { error: null, completedAt: null, attemptsBeforeRetry: row.attempts }),
      );
      this.stmt('UPDATE batches SET completed_at = NULL WHERE id = ?').run(batchId);
      this.recomputeBatchStatus(batchId, now);
      return { batch: this.batchRow(batchId)!, jobs };
    });
  }

  async getJobs(ids: readonly string[]): Promise<(Job | null)[]> {
    return this.getMany(ids, 'jobs', jobFromRow);
  }

  async getBatches(ids: readonly string[]): Promise<(Batch | null)[]> {
    return this.getMany(ids, 'batches', batchFromRow);
  }

  async listJobs(owner: string, filter: JobFilter, page: PageRequest): Promise<Page<Job>> {
    if (filter.batchId) {
      // A batch's children all share one createdAt: within it they come in index order.
      const where = ['batch_id = ?', 'owner = ?'];
      const params: unknown[] = [filter.batchId, owner];
      matchColumns(where, params, { status: filter.status, model: filter.model });
      return this.jobPage(
        [{ where: where.join(' AND '), params, keys: ['batch_index'], direction: 'ASC' }],
        listName('jobs:batch', filter),
        page,
      );
    }
    const where = ['owner = ?', 'kind = ?'];
    const params: unknown[] = [owner, filter.kind ?? 'INDIVIDUAL'];
    matchColumns(where, params, { status: filter.status, model: filter.model });
    return this.jobPage(
      [{ where: where.join(' AND '), params, keys: ['created_at', 'id'], direction: 'DESC' }],
      listName('jobs', filter),
      page,
    );
  }

  async listBatches(owner: string, filter: BatchFilter, page: PageRequest): Promise<Page<Batch>> {
    const where = ['owner = ?'];
    const params: unknown[] = [owner];
    matchColumns(where, params, { status: filter.status, model: filter.model });
    return readPage<BatchRow, Batch>(
      {
        statement: (sql) => this.stmt(sql),
        select: 'SELECT * FROM batches',
        segments: [{ where: where.join(' AND '), params, keys: ['created_at', 'id'], direction: 'DESC' }],
        ordering: listName('batches', filter),
        map: batchFromRow,
      },
      resolvePageRequest(page, DEFAULT_PAGE_SIZE),
    );
  }

  async listBatchJobs(batchId: string, filter: BatchJobFilter, order: BatchJobOrder, page: PageRequest): Promise<Page<Job>> {
    const base = filter.status ? 'batch_id = ? AND status = ?' : 'batch_id = ?';
    const params = filter.status ? [batchId, filter.status] : [batchId];
    if (order.field === 'INDEX') {
      return this.jobPage(
        [{ where: base, params, keys: ['batch_index'], direction: order.direction }],
        listName(`batch:${batchId}:index:${order.direction}`, filter),
        page,
      );
    }
    const column = order.field === 'AFFINITY' ? 'affinity' : 'confidence';
    const segments: Segment[] = [
      { where: `${base} AND ${column} IS NOT NULL`, params, keys: [column, 'batch_index'], direction: order.direction },
      { where: `${base} AND ${column} IS NULL`, params, keys: ['batch_index'], direction: 'ASC' },
    ];
    return this.jobPage(segments, listName(`batch:${batchId}:${column}:${order.direction}`, filter), page);
  }

  async batchStats(batchId: string): Promise<BatchStats> {
    const row = this.stmt<[string], Pick<BatchRow, 'affinity_count' | 'affinity_sum' | 'affinity_best'>>(
      'SELECT affinity_count, affinity_sum, affinity_best FROM batches WHERE id = ?',
    ).get(batchId);
    if (!row) throw new NotFoundError('Batch', batchId);
    return {
      withAffinity: row.affinity_count,
      bestAffinity: row.affinity_best,
      meanAffinity: row.affinity_count === 0 ? null : row.affinity_sum / row.affinity_count,
    };
  }

  async countJobsByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const rows = this.stmt<[], { status: JobStatus; n: number }>('SELECT status, count(*) AS n FROM jobs GROUP BY status').all();
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  async ping(): Promise<void> {
    this.stmt<[], unknown>('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * Runs a submission's quota checks inside the caller's IMMEDIATE transaction: no other
   * writer (this process or another on the file) can commit between the counts and the insert.
   */
  private admit(admission: Admission): void {
    for (const { subject, limits } of admission.subjects) {
      admit(subject, limits, this.usageOf(subject, admission.windows), admission.demand);
    }
  }

  /**
   * Index-only counts, each over the entries that matter (the indexes are named, so the
   * planner cannot pick a wider one): open jobs, jobs since the day began, GPU time of jobs
   * since the month began (recorded for a finished job; for an open one the recorded or, when
   * more, what it recorded before its last retry plus its estimate); by owner, or by organization.
   */
  private usageOf(subject: QuotaSubject, windows: QuotaWindows): QuotaUsage {
    const user = subject.kind === 'user';
    const by = user ? 'owner' : 'organization_id';
    const index = (name: string) => `jobs INDEXED BY jobs_${name}_by_${user ? 'owner' : 'org'}`;
    // A user's jobs today use the paging index (owner, kind, created_at): both kinds are named.
    const today = user
      ? `SELECT count(*) AS n FROM jobs INDEXED BY jobs_by_owner WHERE owner = ? AND kind IN ('INDIVIDUAL', 'BATCH_CHILD') AND created_at >= ?`
      : `SELECT count(*) AS n FROM jobs INDEXED BY jobs_by_org WHERE organization_id = ? AND created_at >= ?`;
    const n = (sql: string, ...params: unknown[]) => this.stmt<unknown[], { n: number }>(sql).get(...params)!.n;
    return {
      openJobs: n(
        `SELECT count(*) AS n FROM ${index('open')} WHERE ${by} = ? AND status IN ('PENDING', 'QUEUED', 'RUNNING')`,
        subject.id,
      ),
      jobsToday: n(today, subject.id, windows.dayStart.getTime()),
      gpuMsThisMonth: n(
        `SELECT coalesce(sum(${GPU_MS_COUNTED}), 0) AS n FROM ${index('gpu_month')}
           WHERE ${by} = ? AND created_at >= ? AND ${GPU_ROWS}`,
        subject.id,
        windows.monthStart.getTime(),
      ),
    };
  }

  /** The row an earlier submission with the same owner and idempotency key stored, if any. */
  private firstSubmission<Row>(
    table: 'jobs' | 'batches',
    record: { owner: string; idempotencyKey: string | null },
  ): Row | undefined {
    if (record.idempotencyKey === null) return undefined;
    return this.stmt<[string, string], Row>(`SELECT * FROM ${table} WHERE owner = ? AND idempotency_key = ?`).get(
      record.owner,
      record.idempotencyKey,
    );
  }

  /** Prepares a statement once per SQL text: preparing costs more than most of our queries. */
  private stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as Statement<P, R>;
  }

  private jobPage(segments: Segment[], ordering: string, page: PageRequest): Page<Job> {
    return readPage<JobRow, Job>(
      { statement: (sql) => this.stmt(sql), select: 'SELECT * FROM jobs', segments, ordering, map: jobFromRow },
      resolvePageRequest(page, DEFAULT_PAGE_SIZE),
    );
  }

  private getMany<Row, T extends { id: string }>(ids: readonly string[], table: string, map: (r: Row) => T): (T | null)[] {
    if (ids.length === 0) return [];
    const found = new Map<string, T>();
    // SQLite allows 32,766 bound parameters; DataLoader batches stay far below that.
    const rows = this.stmt(`SELECT * FROM ${table} WHERE id IN (${ids.map(() => '?').join(', ')})`).all(...ids) as Row[];
    for (const row of rows) {
      const item = map(row);
      found.set(item.id, item);
    }
    return ids.map((id) => found.get(id) ?? null);
  }

  /** Runs `fn` in an IMMEDIATE transaction, then tells the change feed. */
  private write<T>(fn: () => T): T {
    const result = this.db.transaction(fn).immediate();
    this.onCommit();
    return result;
  }

  private jobRow(id: string): Job | null {
    const row = this.selectJob.get(id);
    return row ? jobFromRow(row) : null;
  }

  private batchRow(id: string): Batch | null {
    const row = this.selectBatch.get(id);
    return row ? batchFromRow(row) : null;
  }

  private heldBy(jobId: string, attempt: number): Job | null {
    const job = this.jobRow(jobId);
    return job && job.status === 'RUNNING' && job.attempts === attempt ? job : null;
  }

  /**
   * Adds an attempt's usage to its batch's sums (inside the caller's transaction) and returns
   * the job's new usage as a patch; nothing without a usage.
   */
  private charge(job: Job, usage: Usage | undefined): Partial<Job> {
    if (!usage) return {};
    if (job.batchId !== null) {
      this.stmt(
        `UPDATE batches SET usage_runtime_ms = usage_runtime_ms + ?, usage_gpu_ms = usage_gpu_ms + ?,
             usage_cost_nano_usd = usage_cost_nano_usd + ? WHERE id = ?`,
      ).run(usage.runtimeMs, usage.gpuMs, usage.costNanoUsd, job.batchId);
    }
    return { usage: addUsage(job.usage, usage) };
  }

  /** Writes a patch without a status change (the lease take-over of an expired attempt). */
  private update(job: Job, patch: Partial<Job>, now: Date): Job {
    const next: Job = { ...job, ...patch, updatedAt: now };
    this.writeJob(next);
    this.insertChange.run(job.id, job.batchId, now.getTime());
    return next;
  }

  /**
   * Moves one job along the status machine and, for a batch child, its batch's counters and
   * status in the same transaction.
   */
  private transition(job: Job, to: JobStatus, now: Date, patch: Partial<Job>): Job {
    assertTransition(job.id, job.status, to);
    const next: Job = { ...job, ...patch, status: to, updatedAt: now };
    this.writeJob(next);
    if (job.batchId !== null) {
      this.stmt(
        `UPDATE batches SET ${countKey(job.status)} = ${countKey(job.status)} - 1, ${countKey(to)} = ${countKey(to)} + 1 WHERE id = ?`,
      ).run(job.batchId);
      this.recomputeBatchStatus(job.batchId, now);
    }
    this.insertChange.run(job.id, job.batchId, now.getTime());
    return next;
  }

  private writeJob(job: Job): void {
    const row = jobToRow(job);
    this.stmt(
      `UPDATE jobs SET status = @status, result = @result, error = @error, affinity = @affinity, confidence = @confidence,
           attempts = @attempts, attempts_before_retry = @attempts_before_retry, lease_expires_at = @lease_expires_at,
           usage_runtime_ms = @usage_runtime_ms, usage_gpu_ms = @usage_gpu_ms, usage_cost_nano_usd = @usage_cost_nano_usd,
           updated_at = @updated_at, started_at = @started_at, completed_at = @completed_at WHERE id = @id`,
    ).run(row);
  }

  private recomputeBatchStatus(batchId: string, now: Date): void {
    const batch = this.batchRow(batchId)!;
    const status = batchStatusFrom(batch.counts, batch.total, batch.cancelRequested, batch.startedAt !== null);
    const startedAt = batch.startedAt ?? (status !== 'PENDING' ? now : null);
    const ended = status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED';
    const completedAt = ended ? (batch.completedAt ?? now) : null;
    // The webhook outbox: one waiting delivery per ending, in the transaction that ends the batch.
    if (ended && !isBatchTerminal(batch) && batch.webhookUrl !== null) {
      this.stmt(ENQUEUE_WEBHOOK_DELIVERY).run(
        ...enqueueWebhookParams({ ...batch, status, webhookUrl: batch.webhookUrl }, completedAt!.getTime()),
      );
    }
    this.stmt('UPDATE batches SET status = ?, started_at = ?, completed_at = ?, updated_at = ? WHERE id = ?').run(
      status,
      startedAt?.getTime() ?? null,
      completedAt?.getTime() ?? null,
      now.getTime(),
      batchId,
    );
  }
}

/**
 * Names a list in its cursors: the ordering and every filter, so a cursor handed to another
 * list (another batch, another filter) is refused instead of paging the wrong rows.
 */
function listName(ordering: string, filter: object): string {
  return `${ordering}:${JSON.stringify(filter)}`;
}

/** Adds `column = ?` for each filter value that is set. */
function matchColumns(where: string[], params: unknown[], values: Record<string, string | null | undefined>): void {
  for (const [column, value] of Object.entries(values)) {
    if (value == null) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
}
