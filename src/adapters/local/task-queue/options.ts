import type { TaskPayload } from '../../../ports/task-queue.js';

/** A task the queue gave up on after its last attempt. */
export interface FailedTask {
  name: string;
  payload: TaskPayload;
  /** Attempts made, the last one included. */
  attempts: number;
  /** HTTP status of the last answer, null when no attempt got one. */
  lastStatus: number | null;
  lastError: string | null;
  failedAt: Date;
}

/** Settings of the embedded queue; the retry ones mean what Cloud Tasks' RetryConfig means. */
export interface SqliteTaskQueueOptions {
  /** The worker's task endpoint; every task is POSTed here. */
  targetUrl: string;
  /**
   * Full queue name; rows are kept per queue, and the short id (last segment) is sent in
   * X-CloudTasks-QueueName as Cloud Tasks does.
   * @default 'projects/local/locations/local/queues/omtx-default'
   */
  queueName?: string;
  /**
   * Dispatches in flight at once from this process (Cloud Tasks' maxConcurrentDispatches).
   * @default 2
   */
  maxConcurrentDispatches?: number;
  /**
   * Attempts per task, the first included, like Cloud Tasks' maxAttempts; -1 for unlimited.
   * @default 5
   */
  maxAttempts?: number;
  /** @default 1_000 // 1 second, before the first retry */
  minBackoffMs?: number;
  /** @default 60_000 // 1 minute, the longest wait between retries */
  maxBackoffMs?: number;
  /**
   * Times the retry interval doubles before it grows linearly (Cloud Tasks' maxDoublings).
   * @default 16
   */
  maxDoublings?: number;
  /**
   * How long one attempt may take before it is aborted and counted as failed; a task whose
   * dispatcher died becomes due again this long (plus 5 s) after it was leased.
   * @default 600_000 // 10 minutes, Cloud Tasks' default dispatch deadline
   */
  dispatchDeadlineMs?: number;
  /**
   * How often an idle dispatcher looks for due tasks. In-process enqueues wake it at once;
   * the poll picks up tasks written by another process and scheduled tasks coming due.
   * @default 500 // milliseconds
   */
  pollIntervalMs?: number;
  /**
   * How long a completed task's name stays taken, and a failed one's until it may be reused.
   * @default 3_600_000 // 1 hour, like Cloud Tasks
   */
  nameRetentionMs?: number;
  /**
   * How long a failed task stays visible in its table before it is purged.
   * @default 604_800_000 // 7 days
   */
  failedRetentionMs?: number;
  /**
   * How long close() waits for dispatches in flight before aborting them (they are retried).
   * @default 10_000 // 10 seconds
   */
  closeTimeoutMs?: number;
  /** Called once for each task given up after maxAttempts, e.g. to mark its jobs failed. */
  onTaskFailed?: (task: FailedTask) => void | Promise<void>;
  /** Faults of the dispatcher itself (database errors, a throwing onTaskFailed). */
  onError?: (error: unknown, during: string) => void;
  /** For tests: the time used for schedules, backoff, leases and retention. */
  clock?: () => Date;
  fetch?: typeof fetch;
}

export type QueueSettings = Required<Omit<SqliteTaskQueueOptions, 'onTaskFailed'>> & Pick<SqliteTaskQueueOptions, 'onTaskFailed'>;

/** Fills defaults and stops on a setting that cannot work, naming it. */
export function queueSettings(options: SqliteTaskQueueOptions): QueueSettings {
  const settings: QueueSettings = {
    queueName: 'projects/local/locations/local/queues/omtx-default',
    maxConcurrentDispatches: 2,
    maxAttempts: 5,
    minBackoffMs: 1_000,
    maxBackoffMs: 60_000,
    maxDoublings: 16,
    dispatchDeadlineMs: 600_000,
    pollIntervalMs: 500,
    nameRetentionMs: 3_600_000,
    failedRetentionMs: 604_800_000,
    closeTimeoutMs: 10_000,
    onError: (error, during) => process.emitWarning(`SqliteTaskQueue: ${during}: ${String(error)}`),
    clock: () => new Date(),
    fetch: globalThis.fetch,
    ...withoutUndefined(options),
    targetUrl: options.targetUrl,
  };
  new URL(settings.targetUrl); // throws "Invalid URL" with the input
  positiveInteger('maxConcurrentDispatches', settings.maxConcurrentDispatches);
  if (settings.maxAttempts !== -1) positiveInteger('maxAttempts (or -1)', settings.maxAttempts);
  for (const key of [
    'minBackoffMs',
    'maxBackoffMs',
    'maxDoublings',
    'nameRetentionMs',
    'failedRetentionMs',
    'closeTimeoutMs',
  ] as const) {
    nonNegative(key, settings[key]);
  }
  positiveInteger('dispatchDeadlineMs', settings.dispatchDeadlineMs);
  positiveInteger('pollIntervalMs', settings.pollIntervalMs);
  if (settings.maxBackoffMs < settings.minBackoffMs) {
    throw new RangeError(`maxBackoffMs (${settings.maxBackoffMs}) must be at least minBackoffMs (${settings.minBackoffMs})`);
  }
  return settings;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function nonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
}
