import { retryDelayMs } from '../../../../src/adapters/local/task-queue/backoff.js';
import { deliver, type AttemptOutcome } from '../../../../src/adapters/local/task-queue/deliver.js';
import { cloudTasksHeaders, queueIdOf } from '../../../../src/adapters/local/task-queue/headers.js';
import type { ContractQueueSettings } from '../../../../src/ports/task-queue.contract.js';
import { fakeOidcToken, type OidcTokenRequest } from './fake-oidc-token.js';

/**
 * One queue's settings, as Terraform gives them to the real queue (deploy/): retry_config and
 * rate_limits. The contract's CONTRACT_QUEUE_SETTINGS fit as they are.
 */
export interface FakeQueueSettings extends ContractQueueSettings {
  /** @default 500 // dispatches per second, Cloud Tasks' maximum */
  maxDispatchesPerSecond?: number;
  /** @default 16 */
  maxDoublings?: number;
}

/** A task as the fake holds it (Cloud Tasks' Task, HTTP targets only). */
export interface FakeTask {
  /** `projects/…/queues/Q/tasks/ID` */
  name: string;
  url: string;
  /** What the creator asked for, service headers already dropped. */
  headers: Record<string, string>;
  body: Buffer;
  oidc: OidcTokenRequest | null;
  createMs: number;
  /** When the next attempt is due: the requested time, then each retry's time. */
  scheduleMs: number;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  /** Attempts answered with a non-5xx status (Cloud Tasks' execution count). */
  responseCount: number;
  lastStatus: number | null;
  firstDispatchMs: number | null;
  lastDispatchMs: number | null;
  inFlight: boolean;
  /** A duplicate delivery still to send: beside the next attempt, or after its 2xx. */
  duplicate: 'together' | 'after' | null;
}

/** What a queue needs from the server around it. */
export interface FakeQueueEnv {
  /** How long a finished or deleted task's name stays taken. */
  nameRetentionMs: number;
  /** Replaces every task's dispatch deadline (tests of the timeout path); null keeps each task's own. */
  dispatchDeadlineOverrideMs: number | null;
  /** Called after every attempt, for tests that watch the fake. */
  onAttempt(task: FakeTask, outcome: AttemptOutcome): void;
}

/** Headers a creator cannot set: Cloud Tasks ignores or replaces them. */
const SERVICE_HEADER = /^(host|content-length|user-agent|x-cloudtasks-.*|x-google-.*|x-appengine-.*)$/i;

/**
 * One queue of the fake: holds tasks until due and POSTs them like Cloud Tasks — service
 * headers, OIDC token, dispatch deadline, retries with Cloud Tasks' backoff until
 * maxAttempts, at most maxConcurrentDispatches at once and maxDispatchesPerSecond.
 */
export class FakeQueue {
  readonly #tasks = new Map<string, FakeTask>();
  /** Names of finished, failed or deleted tasks → until when they stay taken. */
  readonly #taken = new Map<string, number>();
  readonly #controllers = new Set<AbortController>();
  readonly #pending = new Set<Promise<void>>();
  readonly #queueId: string;
  readonly #minSpacingMs: number;
  #inFlight = 0;
  #lastDispatchMs = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    readonly settings: FakeQueueSettings,
    private readonly env: FakeQueueEnv,
  ) {
    this.#queueId = queueIdOf(settings.queueName);
    this.#minSpacingMs = 1000 / (settings.maxDispatchesPerSecond ?? 500);
  }

  /** Stores the task, or returns false when its name is taken (ALREADY_EXISTS). */
  add(task: FakeTask): boolean {
    this.#forgetExpiredNames();
    if (this.#tasks.has(task.name) || this.#taken.has(task.name)) return false;
    this.#tasks.set(task.name, task);
    this.#wake();
    return true;
  }

  get(name: string): FakeTask | undefined {
    return this.#tasks.get(name);
  }

  /** Tasks waiting or in flight, due first. */
  list(): FakeTask[] {
    return [...this.#tasks.values()].sort((a, b) => a.scheduleMs - b.scheduleMs || a.createMs - b.createMs);
  }

  /** Removes a task; an attempt in flight runs on but no longer counts. False when absent. */
  delete(name: string): boolean {
    if (!this.#tasks.delete(name)) return false;
    this.#retire(name);
    return true;
  }

  /** Marks a waiting task for a second delivery. False when absent. */
  deliverTwice(name: string, when: 'together' | 'after'): boolean {
    const task = this.#tasks.get(name);
    if (!task) return false;
    task.duplicate = when;
    return true;
  }

  /** Stops dispatching and aborts attempts in flight; waits until they have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const controller of this.#controllers) controller.abort(new Error('the Cloud Tasks fake stopped'));
    await Promise.allSettled([...this.#pending]);
  }

  #wake(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#pump(), 0);
  }

  /** Dispatches what is due into the free slots, then sleeps until the next due time. */
  #pump(): void {
    this.#timer = null;
    if (this.#stopped) return;
    const nowMs = Date.now();
    let nextMs = Number.POSITIVE_INFINITY;
    for (const task of this.list()) {
      if (task.inFlight) continue;
      if (this.#inFlight >= this.settings.maxConcurrentDispatches) return; // a completion wakes us
      const dueMs = Math.max(task.scheduleMs, this.#lastDispatchMs + this.#minSpacingMs);
      if (dueMs > nowMs) {
        nextMs = Math.min(nextMs, dueMs);
        continue;
      }
      this.#dispatch(task, nowMs);
    }
    if (nextMs !== Number.POSITIVE_INFINITY) this.#timer = setTimeout(() => this.#pump(), nextMs - nowMs);
  }

  #dispatch(task: FakeTask, nowMs: number): void {
    task.inFlight = true;
    this.#inFlight += 1;
    this.#lastDispatchMs = nowMs;
    task.firstDispatchMs ??= nowMs;
    task.lastDispatchMs = nowMs;
    const headers = this.#headersFor(task, nowMs);
    const duplicate = task.duplicate;
    task.duplicate = null;

    const send = () => {
      const controller = new AbortController();
      this.#controllers.add(controller);
      const deadlineMs = this.env.dispatchDeadlineOverrideMs ?? task.dispatchDeadlineMs;
      // Bodies are JSON here (the adapter's); a binary body would need a bytes-taking deliver().
      return deliver(fetch, task.url, headers, task.body.toString('utf8'), deadlineMs, controller).finally(() =>
        this.#controllers.delete(controller),
      );
    };
    // The duplicate is outside the concurrency limit and its answer changes nothing, as a real
    // duplicate from an at-least-once service would be.
    if (duplicate === 'together') this.#track(send().then(() => undefined));
    const attempt = send()
      .then(async (outcome) => {
        this.#settle(task, outcome);
        if (duplicate === 'after' && outcome.answered && outcome.status >= 200 && outcome.status < 300) await send();
      })
      .finally(() => {
        this.#inFlight -= 1;
        this.#wake();
      });
    this.#track(attempt);
  }

  #headersFor(task: FakeTask, nowMs: number): Record<string, string> {
    const headers = new Headers({ 'Content-Type': 'application/octet-stream' });
    for (const [name, value] of Object.entries(task.headers)) headers.set(name, value);
    const service = cloudTasksHeaders({
      queueId: this.#queueId,
      taskName: task.name.slice(task.name.lastIndexOf('/') + 1),
      retryCount: task.dispatchCount,
      executionCount: task.responseCount,
      scheduleAtMs: task.scheduleMs,
      previousStatus: task.lastStatus,
    });
    // The content type is the creator's (octet-stream when unset), never the service's.
    delete service['Content-Type'];
    for (const [name, value] of Object.entries(service)) headers.set(name, value);
    if (task.oidc) headers.set('Authorization', `Bearer ${fakeOidcToken(task.oidc, nowMs)}`);
    return Object.fromEntries(headers);
  }

  /** Ends, retries or drops the task after one attempt. */
  #settle(task: FakeTask, outcome: AttemptOutcome): void {
    task.inFlight = false;
    if (this.#tasks.get(task.name) !== task) return; // deleted meanwhile
    this.env.onAttempt(task, outcome);
    task.dispatchCount += 1;
    if (outcome.answered) {
      task.lastStatus = outcome.status;
      // Cloud Tasks' execution count leaves out 5xx answers.
      if (outcome.status < 500) task.responseCount += 1;
      if (outcome.status >= 200 && outcome.status < 300) return this.#finish(task);
    }
    const { maxAttempts } = this.settings;
    if (maxAttempts !== -1 && task.dispatchCount >= maxAttempts) return this.#finish(task);
    task.scheduleMs =
      Date.now() +
      retryDelayMs(task.dispatchCount, {
        minBackoffMs: this.settings.minBackoffMs,
        maxBackoffMs: this.settings.maxBackoffMs,
        maxDoublings: this.settings.maxDoublings ?? 16,
      });
  }

  #finish(task: FakeTask): void {
    this.#tasks.delete(task.name);
    this.#retire(task.name);
  }

  #retire(name: string): void {
    this.#taken.set(name, Date.now() + this.env.nameRetentionMs);
  }

  #forgetExpiredNames(): void {
    const nowMs = Date.now();
    for (const [name, untilMs] of this.#taken) if (untilMs <= nowMs) this.#taken.delete(name);
  }

  #track(promise: Promise<void>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }
}

/** The creator's headers without those Cloud Tasks ignores or replaces. */
export function withoutServiceHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !SERVICE_HEADER.test(name)));
}
