import type { Database } from 'better-sqlite3';
import type { EnqueueOutcome, TaskPayload, TaskQueue, TaskRequest } from '../../ports/task-queue.js';
import { retryDelayMs } from './task-queue/backoff.js';
import { deliver, type AttemptOutcome } from './task-queue/deliver.js';
import { cloudTasksHeaders, queueIdOf } from './task-queue/headers.js';
import { queueSettings, type FailedTask, type QueueSettings, type SqliteTaskQueueOptions } from './task-queue/options.js';
import { TaskTable, type FailedTaskRow, type LeasedTask } from './task-queue/task-table.js';
import { taskBody } from './task-queue/validate.js';

export type { FailedTask, SqliteTaskQueueOptions } from './task-queue/options.js';
export { InvalidTaskError } from './task-queue/validate.js';

/**
 * A lease outlives the dispatch deadline by this much, so our own abort always lands before
 * another dispatcher may take the task.
 */
const LEASE_GRACE_MS = 5_000;
/** Old tombstones are purged at most this often. */
const PURGE_INTERVAL_MS = 60_000;
/** After close() aborts late dispatches, how long it waits for them to record the attempt. */
const ABORT_SETTLE_MS = 1_000;

/**
 * The embedded TaskQueue: tasks persist in SQLite (tables `task_*`, beside the job store)
 * and an in-process dispatcher POSTs them to the worker as Cloud Tasks would — same
 * headers, same de-duplication window, same retry schedule, at-least-once delivery.
 *
 * Enqueue works at once; delivery starts with `start()`. A process that dies mid-dispatch
 * leaves a lease that expires `dispatchDeadlineMs` + 5 s later; then the task is due again.
 * `maxConcurrentDispatches` limits this process's dispatches, not those of other processes
 * sharing the file.
 */
export class SqliteTaskQueue implements TaskQueue {
  readonly #settings: QueueSettings;
  readonly #table: TaskTable;
  readonly #queueId: string;
  /** Dispatches in flight, by lease token, with the means to abort them on close. */
  readonly #inFlight = new Map<string, { done: Promise<void>; controller: AbortController }>();
  /** onTaskFailed calls not tied to a dispatch, awaited by close(). */
  readonly #notifications = new Set<Promise<void>>();
  #state: 'idle' | 'running' | 'closing' | 'closed' = 'idle';
  #timer: NodeJS.Timeout | null = null;
  #wakePending = false;
  #lastPurgeMs = Number.NEGATIVE_INFINITY;
  #closed: Promise<void> | null = null;

  /**
   * @param db an open better-sqlite3 database, usually the job store's file; the queue creates
   *   its tables if missing and switches the file to WAL.
   */
  constructor(db: Database, options: SqliteTaskQueueOptions) {
    this.#settings = queueSettings(options);
    this.#table = new TaskTable(db, this.#settings.queueName);
    this.#queueId = queueIdOf(this.#settings.queueName);
  }

  /**
   * Stores all tasks in one transaction. A name already taken (waiting, in flight, or
   * finished within `nameRetentionMs`) is DUPLICATE and changes nothing. A task that is
   * invalid (name, date, body over 100 KB) rejects the whole call and stores nothing.
   */
  async enqueue(tasks: TaskRequest[]): Promise<EnqueueOutcome[]> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new Error('SqliteTaskQueue is closed');
    const bodies = tasks.map(taskBody); // every task checked before any is stored
    const nowMs = this.#nowMs();
    const reuseBeforeMs = nowMs - this.#settings.nameRetentionMs;
    const created = this.#table.insertAll(
      tasks.map((task, i) => ({
        name: task.name,
        payload: bodies[i]!,
        scheduleAtMs: task.scheduleAt?.getTime() ?? nowMs,
        nowMs,
        reuseBeforeMs,
      })),
    );
    if (created.includes(true)) this.#wake();
    return tasks.map((task, i) => ({ name: task.name, status: created[i] ? 'CREATED' : 'DUPLICATE' }));
  }

  /** Tasks waiting (scheduled or backing off) or in flight, across processes. */
  async depth(): Promise<number> {
    return this.#table.depth();
  }

  /** Starts dispatching: due tasks now, later ones as they come due. Idempotent. */
  start(): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw new Error('SqliteTaskQueue is closed');
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#wake();
  }

  /**
   * Stops taking tasks and waits up to `closeTimeoutMs` for dispatches in flight; those still
   * running are then aborted and stay queued for a retry. Does not close the database.
   */
  close(): Promise<void> {
    this.#closed ??= this.#drain();
    return this.#closed;
  }

  /** Tasks given up after maxAttempts and still kept (`failedRetentionMs`), newest first. */
  failedTasks(limit = 100): FailedTask[] {
    return this.#table.failed(limit).map(toFailedTask);
  }

  async #drain(): Promise<void> {
    this.#state = 'closing';
    if (this.#timer) clearTimeout(this.#timer);
    const inFlight = () => [...this.#inFlight.values()];
    if (
      !(await settledWithin(
        inFlight().map((f) => f.done),
        this.#settings.closeTimeoutMs,
      ))
    ) {
      for (const dispatch of inFlight()) dispatch.controller.abort(new Error('the queue was closed during the dispatch'));
      await settledWithin(
        inFlight().map((f) => f.done),
        ABORT_SETTLE_MS,
      );
    }
    await settledWithin([...this.#notifications], this.#settings.closeTimeoutMs);
    this.#state = 'closed';
  }

  /** Runs the pump soon, once however many enqueues and completions ask for it. */
  #wake(): void {
    if (this.#state !== 'running' || this.#wakePending) return;
    this.#wakePending = true;
    setImmediate(() => {
      this.#wakePending = false;
      this.#pump();
    });
  }

  /** Leases what is due into the free dispatch slots, then sleeps until the next due time. */
  #pump(): void {
    if (this.#state !== 'running') return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const { maxConcurrentDispatches, pollIntervalMs, dispatchDeadlineMs, maxAttempts } = this.#settings;
    let delayMs = pollIntervalMs;
    try {
      const nowMs = this.#nowMs();
      this.#purgeTombstones(nowMs);
      const free = maxConcurrentDispatches - this.#inFlight.size;
      if (free > 0) {
        const leaseUntilMs = nowMs + dispatchDeadlineMs + LEASE_GRACE_MS;
        const { leased, exhausted } = this.#table.claim(nowMs, free, leaseUntilMs, maxAttempts);
        for (const task of leased) this.#dispatch(task);
        for (const row of exhausted) this.#track(this.#notifyFailed(toFailedTask(row)));
      }
      // A full house is woken by the next completion; otherwise sleep until the next due time.
      if (this.#inFlight.size >= maxConcurrentDispatches) return;
      const nextDueMs = this.#table.nextDueAtMs();
      if (nextDueMs !== null) delayMs = Math.min(pollIntervalMs, Math.max(1, nextDueMs - nowMs));
    } catch (error) {
      this.#settings.onError(error, 'looking for due tasks');
    }
    this.#timer = setTimeout(() => this.#pump(), delayMs);
    // Pending tasks alone do not keep the process alive; in-flight requests do.
    this.#timer.unref();
  }

  #dispatch(task: LeasedTask): void {
    const controller = new AbortController();
    const headers = cloudTasksHeaders({
      queueId: this.#queueId,
      taskName: task.name,
      retryCount: task.attempts,
      executionCount: task.executions,
      scheduleAtMs: task.scheduleAtMs,
      previousStatus: task.lastStatus,
    });
    const { fetch, targetUrl, dispatchDeadlineMs } = this.#settings;
    const done = deliver(fetch, targetUrl, headers, task.body, dispatchDeadlineMs, controller)
      .then((outcome) => this.#record(task, outcome))
      .catch((error: unknown) => this.#settings.onError(error, `recording the attempt of task ${task.name}`))
      .finally(() => {
        this.#inFlight.delete(task.leaseToken);
        this.#wake();
      });
    this.#inFlight.set(task.leaseToken, { done, controller });
  }

  /** Ends, retries or gives up the task after one attempt (attempt number task.attempts + 1). */
  async #record(task: LeasedTask, outcome: AttemptOutcome): Promise<void> {
    const nowMs = this.#nowMs();
    const attempts = task.attempts + 1;
    const record = outcome.answered
      ? {
          nowMs,
          status: outcome.status,
          error: `HTTP ${outcome.status}${outcome.detail ? `: ${outcome.detail}` : ''}`,
          // Cloud Tasks' execution count leaves out 5xx answers.
          executed: outcome.status < 500 ? (1 as const) : (0 as const),
        }
      : { nowMs, status: null, error: outcome.error, executed: 0 as const };

    if (outcome.answered && outcome.status >= 200 && outcome.status < 300) {
      this.#table.succeed(task.name, task.leaseToken, record);
      return;
    }
    const { maxAttempts } = this.#settings;
    if (maxAttempts !== -1 && attempts >= maxAttempts) {
      // False when the lease was lost: whoever holds it now decides.
      if (this.#table.fail(task.name, task.leaseToken, record)) {
        await this.#notifyFailed({
          name: task.name,
          payload: JSON.parse(task.body) as TaskPayload,
          attempts,
          lastStatus: record.status ?? task.lastStatus,
          lastError: record.error,
          failedAt: new Date(nowMs),
        });
      }
      return;
    }
    const retryAtMs = nowMs + retryDelayMs(attempts, this.#settings);
    this.#table.retry(task.name, task.leaseToken, retryAtMs, record);
  }

  async #notifyFailed(task: FailedTask): Promise<void> {
    try {
      await this.#settings.onTaskFailed?.(task);
    } catch (error) {
      this.#settings.onError(error, `onTaskFailed for task ${task.name}`);
    }
  }

  #track(notification: Promise<void>): void {
    this.#notifications.add(notification);
    void notification.finally(() => this.#notifications.delete(notification));
  }

  #purgeTombstones(nowMs: number): void {
    if (nowMs - this.#lastPurgeMs < PURGE_INTERVAL_MS) return;
    this.#lastPurgeMs = nowMs;
    this.#table.purge('succeeded', nowMs - this.#settings.nameRetentionMs);
    this.#table.purge('failed', nowMs - Math.max(this.#settings.failedRetentionMs, this.#settings.nameRetentionMs));
  }

  #nowMs(): number {
    return this.#settings.clock().getTime();
  }
}

function toFailedTask(row: FailedTaskRow): FailedTask {
  return {
    name: row.name,
    payload: JSON.parse(row.body) as TaskPayload,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    failedAt: new Date(row.finishedAtMs),
  };
}

/** True when all settle within `ms`; the timer does not outlive the wait. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
