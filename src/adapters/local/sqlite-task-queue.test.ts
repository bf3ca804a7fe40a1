import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTRACT_QUEUE_SETTINGS,
  deferred,
  describeTaskQueueContract,
  startTaskReceiver,
  waitUntil,
  type Reply,
  type TaskReceiver,
} from '../../ports/task-queue.contract.js';
import type { TaskPayload } from '../../ports/task-queue.js';
import { SqliteTaskQueue, type FailedTask, type SqliteTaskQueueOptions } from './sqlite-task-queue.js';
import { retryDelayMs } from './task-queue/backoff.js';

/** Everything a test opened, closed after it in reverse order. */
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDbFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'omtx-task-queue-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'omtx.sqlite');
}

function openDb(file: string): Database.Database {
  const db = new Database(file);
  cleanups.push(() => db.open && db.close());
  return db;
}

async function receiver(): Promise<TaskReceiver> {
  const r = await startTaskReceiver();
  cleanups.push(() => r.close());
  return r;
}

function queueOn(db: Database.Database, options: SqliteTaskQueueOptions): SqliteTaskQueue {
  const queue = new SqliteTaskQueue(db, { pollIntervalMs: 20, closeTimeoutMs: 1_000, ...options });
  cleanups.push(() => queue.close());
  return queue;
}

/** A clock the test moves by hand. */
function manualClock(startMs = Date.now()) {
  let nowMs = startMs;
  return { clock: () => new Date(nowMs), advance: (ms: number) => (nowMs += ms) };
}

const payload = (...jobIds: string[]): TaskPayload => ({ jobIds, batchId: null });

describeTaskQueueContract('SqliteTaskQueue on a SQLite file', async () => {
  const db = new Database(await tempDbFile());
  const r = await startTaskReceiver();
  const queue = new SqliteTaskQueue(db, {
    targetUrl: r.url,
    ...CONTRACT_QUEUE_SETTINGS,
    pollIntervalMs: 20,
    closeTimeoutMs: 1_000,
  });
  queue.start();
  return {
    queue,
    receiver: r,
    settings: CONTRACT_QUEUE_SETTINGS,
    cleanup: async () => {
      await r.close();
      await queue.close();
      db.close();
    },
  };
});

describe('retryDelayMs', () => {
  it('follows Cloud Tasks: doublings, then linear growth, then maxBackoff', () => {
    const policy = { minBackoffMs: 10_000, maxBackoffMs: 300_000, maxDoublings: 3 };
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((retry) => retryDelayMs(retry, policy) / 1000);
    expect(delays).toEqual([10, 20, 40, 80, 160, 240, 300, 300]);
  });

  it('doubles up to the cap with the default 16 doublings', () => {
    const policy = { minBackoffMs: 1_000, maxBackoffMs: 60_000, maxDoublings: 16 };
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((retry) => retryDelayMs(retry, policy));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });
});

describe('SqliteTaskQueue', () => {
  it('delivers tasks enqueued before a restart', async () => {
    const file = await tempDbFile();
    const r = await receiver();
    const before = queueOn(openDb(file), { targetUrl: r.url });
    await before.enqueue([{ name: 'survivor', payload: payload('s') }]);
    await before.close();

    const after = queueOn(openDb(file), { targetUrl: r.url });
    after.start();
    const [delivery] = await r.waitForDeliveries(1);
    expect(delivery!.taskName).toBe('survivor');
    expect(delivery!.retryCount).toBe(0);
  });

  it('delivers again a task whose dispatcher died, once its lease expires', async () => {
    const file = await tempDbFile();
    const r = await receiver();
    const dispatchDeadlineMs = 60_000;
    const t0 = Date.now();

    // The dead dispatcher: it leases the task, sends it, and never hears back.
    const sent = deferred();
    const hangingFetch: typeof fetch = (_url, init) => {
      sent.resolve();
      return new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    };
    const dead = new SqliteTaskQueue(openDb(file), {
      targetUrl: r.url,
      dispatchDeadlineMs,
      clock: () => new Date(t0),
      fetch: hangingFetch,
      pollIntervalMs: 20,
      closeTimeoutMs: 10,
    });
    dead.start();
    await dead.enqueue([{ name: 'orphan', payload: payload('o') }]);
    await sent.promise;

    // Another process, later than the deadline plus the lease grace of 5 s.
    const survivor = queueOn(openDb(file), {
      targetUrl: r.url,
      dispatchDeadlineMs,
      clock: () => new Date(t0 + dispatchDeadlineMs + 5_001),
    });
    survivor.start();
    const [delivery] = await r.waitForDeliveries(1);
    expect(delivery!.taskName).toBe('orphan');
    expect(delivery!.retryCount).toBe(1);
    expect(delivery!.executionCount).toBe(0);
    await waitUntil(async () => (await survivor.depth()) === 0, 'the survivor completed the task');

    // The dead one's late abort must not touch the task it no longer holds.
    await dead.close();
    expect(await survivor.depth()).toBe(0);
    expect(survivor.failedTasks()).toEqual([]);
  });

  it('aborts a dispatch past the dispatch deadline and retries it', async () => {
    const r = await receiver();
    r.respond((d) => (d.retryCount === 0 ? new Promise<Reply>(() => {}) : 200));
    const queue = queueOn(openDb(await tempDbFile()), { targetUrl: r.url, dispatchDeadlineMs: 100, minBackoffMs: 10 });
    queue.start();
    await queue.enqueue([{ name: 'slow', payload: payload('s') }]);

    const [, retry] = await r.waitForDeliveries(2);
    expect(retry!.retryCount).toBe(1);
    expect(retry!.executionCount).toBe(0);
  });

  it('gives up after maxAttempts, keeps the task visible as failed and calls onTaskFailed', async () => {
    const r = await receiver();
    r.respond(() => 500);
    const failed = deferred<FailedTask>();
    const queue = queueOn(openDb(await tempDbFile()), {
      targetUrl: r.url,
      maxAttempts: 2,
      minBackoffMs: 10,
      onTaskFailed: (task) => failed.resolve(task),
    });
    queue.start();
    await queue.enqueue([{ name: 'doomed', payload: { jobIds: ['j1', 'j2'], batchId: 'b1' } }]);

    const task = await failed.promise;
    expect(task).toMatchObject({
      name: 'doomed',
      payload: { jobIds: ['j1', 'j2'], batchId: 'b1' },
      attempts: 2,
      lastStatus: 500,
    });
    expect(task.lastError).toMatch(/HTTP 500/);
    expect(queue.failedTasks()).toEqual([task]);
    expect(await queue.depth()).toBe(0);
    expect(r.deliveries).toHaveLength(2);
  });

  it('frees a finished name once nameRetentionMs has passed', async () => {
    const r = await receiver();
    const time = manualClock();
    const queue = queueOn(openDb(await tempDbFile()), { targetUrl: r.url, clock: time.clock });
    queue.start();
    await queue.enqueue([{ name: 'again', payload: payload('a') }]);
    await r.waitForDeliveries(1);
    await waitUntil(async () => (await queue.depth()) === 0, 'the first task completed');

    time.advance(3_599_000);
    expect(await queue.enqueue([{ name: 'again', payload: payload('a') }])).toEqual([{ name: 'again', status: 'DUPLICATE' }]);
    time.advance(1_000);
    expect(await queue.enqueue([{ name: 'again', payload: payload('a') }])).toEqual([{ name: 'again', status: 'CREATED' }]);
    const deliveries = await r.waitForDeliveries(2);
    expect(deliveries[1]!.retryCount).toBe(0);
  });

  it('purges tombstones older than nameRetentionMs', async () => {
    const r = await receiver();
    const time = manualClock();
    const db = openDb(await tempDbFile());
    const queue = queueOn(db, { targetUrl: r.url, clock: time.clock });
    queue.start();
    await queue.enqueue([{ name: 'old', payload: payload('o') }]);
    await waitUntil(async () => (await queue.depth()) === 0 && r.deliveries.length === 1, 'the old task completed');
    const rows = () => db.prepare('SELECT name FROM task_tasks ORDER BY name').pluck().all();
    expect(rows()).toEqual(['old']);

    time.advance(3_600_001);
    await queue.enqueue([{ name: 'new', payload: payload('n') }]); // wakes the dispatcher
    await waitUntil(() => rows().length === 1, 'the old tombstone is purged');
    expect(rows()).toEqual(['new']);
  });

  it('close() waits for a dispatch in flight', async () => {
    const r = await receiver();
    const gate = deferred<Reply>();
    r.respond(() => gate.promise);
    const queue = queueOn(openDb(await tempDbFile()), { targetUrl: r.url });
    queue.start();
    await queue.enqueue([{ name: 'busy', payload: payload('b') }]);
    await r.waitForDeliveries(1);

    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await new Promise(setImmediate);
    expect(closed).toBe(false);
    gate.resolve(200);
    await closing;
    expect(await queue.depth()).toBe(0);
    await expect(queue.enqueue([{ name: 'late', payload: payload('l') }])).rejects.toThrow(/closed/);
  });

  it('close() aborts a dispatch that outlasts closeTimeoutMs and leaves the task queued', async () => {
    const file = await tempDbFile();
    const r = await receiver();
    r.respond((d) => (d.retryCount === 0 ? new Promise<Reply>(() => {}) : 200));
    const first = queueOn(openDb(file), { targetUrl: r.url, closeTimeoutMs: 20, minBackoffMs: 10 });
    first.start();
    await first.enqueue([{ name: 'interrupted', payload: payload('i') }]);
    await r.waitForDeliveries(1);
    await first.close();
    expect(await first.depth()).toBe(1);

    const next = queueOn(openDb(file), { targetUrl: r.url });
    next.start();
    const [, retry] = await r.waitForDeliveries(2);
    expect(retry!.retryCount).toBe(1);
  });

  it('enqueues 10,000 tasks in one call', async () => {
    const r = await receiver();
    const queue = queueOn(openDb(await tempDbFile()), { targetUrl: r.url });
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({
      name: `shard-${i}`,
      payload: { jobIds: [`job-${i}-a`, `job-${i}-b`, `job-${i}-c`], batchId: 'batch-1' },
    }));

    const started = performance.now();
    const created = await queue.enqueue(tasks);
    const createMs = performance.now() - started;
    const again = await queue.enqueue(tasks);
    const duplicateMs = performance.now() - started - createMs;
    console.info(`10,000 tasks: enqueue ${createMs.toFixed(1)} ms, duplicate enqueue ${duplicateMs.toFixed(1)} ms`);

    expect(created.every((o) => o.status === 'CREATED')).toBe(true);
    expect(again.every((o) => o.status === 'DUPLICATE')).toBe(true);
    expect(await queue.depth()).toBe(10_000);
  });

  it('refuses settings that cannot work, naming them', async () => {
    const db = openDb(await tempDbFile());
    expect(() => new SqliteTaskQueue(db, { targetUrl: 'not a url' })).toThrow(/Invalid URL/);
    expect(() => new SqliteTaskQueue(db, { targetUrl: 'http://w/', maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => new SqliteTaskQueue(db, { targetUrl: 'http://w/', minBackoffMs: 10, maxBackoffMs: 5 })).toThrow(/maxBackoffMs/);
  });
});
