import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { migrateTaskTables } from './schema.js';

/** A task taken for one dispatch attempt; `attempts` and `executions` count earlier ones. */
export interface LeasedTask {
  name: string;
  body: string;
  scheduleAtMs: number;
  attempts: number;
  executions: number;
  lastStatus: number | null;
  leaseToken: string;
}

/** A task whose attempts ran out, as stored in its tombstone. */
export interface FailedTaskRow {
  name: string;
  body: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  finishedAtMs: number;
}

/** How an attempt ended, as the table records it. */
export interface AttemptRecord {
  nowMs: number;
  status: number | null;
  error: string | null;
  /** 1 when the attempt counts in X-CloudTasks-TaskExecutionCount (a non-5xx answer). */
  executed: 0 | 1;
}

interface DueRow {
  name: string;
  payload: string;
  schedule_at_ms: number;
  attempts: number;
  executions: number;
  last_status: number | null;
}

/**
 * The SQL of one queue, prepared once. Every method is synchronous and atomic; a finished
 * attempt only lands while its lease token still holds the row, so a dispatcher that lost
 * its lease (it was too slow, another one re-leased the task) cannot end someone else's task.
 */
export class TaskTable {
  readonly #insert: Statement;
  readonly #due: Statement;
  readonly #lease: Statement;
  readonly #succeed: Statement;
  readonly #retry: Statement;
  readonly #fail: Statement;
  readonly #expire: Statement;
  readonly #depth: Statement;
  readonly #nextDue: Statement;
  readonly #purge: Statement;
  readonly #failed: Statement;
  readonly #insertAll: (rows: InsertRow[]) => boolean[];
  readonly #claim: (nowMs: number, limit: number, leaseUntilMs: number, maxAttempts: number) => ClaimResult;

  constructor(
    db: Database,
    private readonly queue: string,
  ) {
    migrateTaskTables(db);
    // A finished name becomes free again once its tombstone is older than the dedup window.
    this.#insert = db.prepare(`
      INSERT INTO task_tasks (queue, name, payload, state, schedule_at_ms, due_at_ms, created_at_ms)
      VALUES (@queue, @name, @payload, 'waiting', @scheduleAtMs, @scheduleAtMs, @nowMs)
      ON CONFLICT (queue, name) DO UPDATE SET
        payload = excluded.payload, state = 'waiting', schedule_at_ms = excluded.schedule_at_ms,
        due_at_ms = excluded.due_at_ms, attempts = 0, executions = 0, last_status = NULL,
        last_error = NULL, lease_token = NULL, created_at_ms = excluded.created_at_ms, finished_at_ms = NULL
      WHERE task_tasks.due_at_ms IS NULL AND task_tasks.finished_at_ms <= @reuseBeforeMs`);
    this.#due = db.prepare(`
      SELECT name, payload, schedule_at_ms, attempts, executions, last_status FROM task_tasks
      WHERE queue = ? AND due_at_ms <= ? ORDER BY due_at_ms, rowid LIMIT ?`);
    this.#lease = db.prepare(`
      UPDATE task_tasks SET state = 'leased', due_at_ms = ?, lease_token = ?, attempts = attempts + 1
      WHERE queue = ? AND name = ?`);
    this.#succeed = db.prepare(`
      UPDATE task_tasks SET state = 'succeeded', due_at_ms = NULL, lease_token = NULL,
        finished_at_ms = @nowMs, last_status = @status, last_error = NULL, executions = executions + 1
      WHERE queue = @queue AND name = @name AND lease_token = @token`);
    this.#retry = db.prepare(`
      UPDATE task_tasks SET state = 'waiting', schedule_at_ms = @retryAtMs, due_at_ms = @retryAtMs,
        lease_token = NULL, last_status = @status, last_error = @error, executions = executions + @executed
      WHERE queue = @queue AND name = @name AND lease_token = @token`);
    this.#fail = db.prepare(`
      UPDATE task_tasks SET state = 'failed', due_at_ms = NULL, lease_token = NULL, finished_at_ms = @nowMs,
        last_status = coalesce(@status, last_status), last_error = @error, executions = executions + @executed
      WHERE queue = @queue AND name = @name AND lease_token = @token`);
    this.#expire = db.prepare(`
      UPDATE task_tasks SET state = 'failed', due_at_ms = NULL, lease_token = NULL, finished_at_ms = ?, last_error = ?
      WHERE queue = ? AND name = ?`);
    this.#depth = db.prepare(`SELECT count(*) FROM task_tasks WHERE queue = ? AND due_at_ms IS NOT NULL`).pluck();
    this.#nextDue = db.prepare(`SELECT min(due_at_ms) FROM task_tasks WHERE queue = ? AND due_at_ms IS NOT NULL`).pluck();
    this.#purge = db.prepare(`
      DELETE FROM task_tasks WHERE queue = ? AND due_at_ms IS NULL AND state = ? AND finished_at_ms <= ?`);
    this.#failed = db.prepare(`
      SELECT name, payload AS body, attempts, last_status AS lastStatus, last_error AS lastError,
        finished_at_ms AS finishedAtMs
      FROM task_tasks WHERE queue = ? AND due_at_ms IS NULL AND state = 'failed'
      ORDER BY finished_at_ms DESC LIMIT ?`);

    // One transaction for a whole enqueue call: 10,000 rows cost one fsync, not 10,000.
    this.#insertAll = db.transaction((rows: InsertRow[]) => rows.map((row) => this.#insert.run({ queue, ...row }).changes === 1));
    // IMMEDIATE takes the write lock before reading, so two processes never lease one task.
    this.#claim = db.transaction((nowMs: number, limit: number, leaseUntilMs: number, maxAttempts: number): ClaimResult => {
      const leased: LeasedTask[] = [];
      const exhausted: FailedTaskRow[] = [];
      for (const row of this.#due.all(queue, nowMs, limit) as DueRow[]) {
        // Only a task whose dispatcher died can be due with no attempts left.
        if (maxAttempts > 0 && row.attempts >= maxAttempts) {
          const lastError = 'no answer within the dispatch deadline (the dispatcher stopped)';
          this.#expire.run(nowMs, lastError, queue, row.name);
          exhausted.push({
            name: row.name,
            body: row.payload,
            attempts: row.attempts,
            lastStatus: row.last_status,
            lastError,
            finishedAtMs: nowMs,
          });
          continue;
        }
        const leaseToken = randomUUID();
        this.#lease.run(leaseUntilMs, leaseToken, queue, row.name);
        leased.push({
          name: row.name,
          body: row.payload,
          scheduleAtMs: row.schedule_at_ms,
          attempts: row.attempts,
          executions: row.executions,
          lastStatus: row.last_status,
          leaseToken,
        });
      }
      return { leased, exhausted };
    }).immediate;
  }

  /** Inserts each row unless its name is taken; true where a task was created. */
  insertAll(rows: InsertRow[]): boolean[] {
    return this.#insertAll(rows);
  }

  /** Leases up to `limit` due tasks, oldest schedule first, and fails those with no attempts left. */
  claim(nowMs: number, limit: number, leaseUntilMs: number, maxAttempts: number): ClaimResult {
    return this.#claim(nowMs, limit, leaseUntilMs, maxAttempts);
  }

  /** Ends the task, keeping its name as a tombstone; false when the lease was lost. */
  succeed(name: string, token: string, { nowMs, status }: AttemptRecord): boolean {
    return this.#succeed.run({ queue: this.queue, name, token, nowMs, status }).changes === 1;
  }

  /** Puts the task back, due at `retryAtMs`; false when the lease was lost. */
  retry(name: string, token: string, retryAtMs: number, { status, error, executed }: AttemptRecord): boolean {
    return this.#retry.run({ queue: this.queue, name, token, retryAtMs, status, error, executed }).changes === 1;
  }

  /** Gives the task up, keeping it visible as `failed`; false when the lease was lost. */
  fail(name: string, token: string, { nowMs, status, error, executed }: AttemptRecord): boolean {
    return this.#fail.run({ queue: this.queue, name, token, nowMs, status, error, executed }).changes === 1;
  }

  /** Tasks waiting or leased. */
  depth(): number {
    return this.#depth.get(this.queue) as number;
  }

  /** When the earliest waiting task is due or the earliest lease expires; null when idle. */
  nextDueAtMs(): number | null {
    return this.#nextDue.get(this.queue) as number | null;
  }

  /** Deletes tombstones in `state` that finished at or before `beforeMs`; returns how many. */
  purge(state: 'succeeded' | 'failed', beforeMs: number): number {
    return this.#purge.run(this.queue, state, beforeMs).changes;
  }

  /** The most recently failed tasks still kept. */
  failed(limit: number): FailedTaskRow[] {
    return this.#failed.all(this.queue, limit) as FailedTaskRow[];
  }
}

/** One task to insert; `reuseBeforeMs` is the end of the dedup window of a finished name. */
export interface InsertRow {
  name: string;
  payload: string;
  scheduleAtMs: number;
  nowMs: number;
  reuseBeforeMs: number;
}

export interface ClaimResult {
  leased: LeasedTask[];
  exhausted: FailedTaskRow[];
}
