import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskPayload, TaskQueue } from './task-queue.js';

/**
 * The suite every TaskQueue adapter passes: Cloud Tasks' delivery contract as the worker
 * sees it, checked through a real HTTP receiver. Adapters build their queue with
 * `CONTRACT_QUEUE_SETTINGS` (small backoffs keep the suite fast) and point it at the
 * receiver from `startTaskReceiver()`.
 */

/** The queue settings the suite's expectations are computed from. */
export interface ContractQueueSettings {
  /** Full queue name; the short id after the last `/` is what the worker sees. */
  queueName: string;
  maxAttempts: number;
  maxConcurrentDispatches: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const CONTRACT_QUEUE_SETTINGS: ContractQueueSettings = {
  queueName: 'projects/contract/locations/local/queues/omtx-contract',
  maxAttempts: 3,
  maxConcurrentDispatches: 2,
  minBackoffMs: 20,
  maxBackoffMs: 200,
};

export interface TaskQueueHarness {
  /** A running queue (dispatching) that POSTs to `receiver.url`. */
  queue: TaskQueue;
  receiver: TaskReceiver;
  settings: ContractQueueSettings;
  cleanup(): Promise<void>;
}

/** One POST the receiver got, with the Cloud Tasks headers already read. */
export interface Delivery {
  taskName: string;
  queueName: string;
  retryCount: number;
  executionCount: number;
  /** X-CloudTasks-TaskETA as sent: seconds since the epoch, decimal. */
  eta: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  receivedAtMs: number;
}

/** What the receiver answers: a status, or `'drop'` to cut the connection without one. */
export type Reply = number | 'drop';
export type Responder = (delivery: Delivery) => Reply | Promise<Reply>;

/** A worker stand-in: records deliveries and answers as the test programs it. */
export interface TaskReceiver {
  url: string;
  readonly deliveries: readonly Delivery[];
  /** Requests received and not yet answered, now and at most so far. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Replaces the responder; the default answers 200. */
  respond(responder: Responder): void;
  /** Resolves once `count` deliveries (of `taskName`, when given) arrived. */
  waitForDeliveries(count: number, taskName?: string): Promise<Delivery[]>;
  /** Cuts open connections (held responses included) and stops listening. */
  close(): Promise<void>;
}

/** How long a wait may take before the test fails with what it saw instead. */
const WAIT_MS = 5_000;
/** How long the concurrency case keeps every dispatch slot busy before freeing one. */
const FULL_WINDOW_MS = 25;

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startTaskReceiver(): Promise<TaskReceiver> {
  const deliveries: Delivery[] = [];
  const waiters = new Set<() => void>();
  let responder: Responder = () => 200;
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Counted out when answered, not when the socket event comes, so a prompt next
    // dispatch is never mistaken for an extra one in flight.
    let open = true;
    const settle = () => {
      if (open) inFlight -= 1;
      open = false;
    };
    res.on('close', settle);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(req.headers[name.toLowerCase()] ?? '');
      const delivery: Delivery = {
        taskName: header('X-CloudTasks-TaskName'),
        queueName: header('X-CloudTasks-QueueName'),
        retryCount: Number(header('X-CloudTasks-TaskRetryCount')),
        executionCount: Number(header('X-CloudTasks-TaskExecutionCount')),
        eta: header('X-CloudTasks-TaskETA'),
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as unknown) : null,
        receivedAtMs: Date.now(),
      };
      deliveries.push(delivery);
      for (const check of waiters) check();
      const answer = (reply: Reply) => {
        if (!open) return; // the queue gave up on this request already
        settle();
        if (reply === 'drop') req.socket.destroy();
        else res.writeHead(reply).end();
      };
      void Promise.resolve(responder(delivery)).then(answer, () => answer(500));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/tasks`,
    deliveries,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    respond(next) {
      responder = next;
    },
    waitForDeliveries(count, taskName) {
      const matching = () => deliveries.filter((d) => taskName === undefined || d.taskName === taskName);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (matching().length < count) return;
          cleanup();
          resolve(matching());
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = deliveries.map((d) => `${d.taskName}#${d.retryCount}`).join(', ') || 'none';
          reject(
            new Error(`expected ${count} deliveries${taskName ? ` of ${taskName}` : ''} within ${WAIT_MS} ms; got: ${seen}`),
          );
        }, WAIT_MS);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A promise with its resolve at hand, to hold a response open until the test says. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Re-checks `condition` until it holds, for state that has no event (depth after a dispatch). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out after ${WAIT_MS} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const payload = (...jobIds: string[]): TaskPayload => ({ jobIds, batchId: null });

/** Runs the TaskQueue contract against one adapter; a fresh harness per test. */
export function describeTaskQueueContract(name: string, makeHarness: () => Promise<TaskQueueHarness>): void {
  describe(`TaskQueue contract: ${name}`, () => {
    let h: TaskQueueHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const queueId = () => h.settings.queueName.slice(h.settings.queueName.lastIndexOf('/') + 1);
    const drained = () => waitUntil(async () => (await h.queue.depth()) === 0, 'the queue is empty');

    it('delivers the payload as JSON with the Cloud Tasks headers', async () => {
      const before = Date.now();
      const outcomes = await h.queue.enqueue([{ name: 'job-a1', payload: { jobIds: ['a1', 'a2'], batchId: 'b1' } }]);
      const after = Date.now();
      expect(outcomes).toEqual([{ name: 'job-a1', status: 'CREATED' }]);

      const [delivery] = await h.receiver.waitForDeliveries(1);
      expect(delivery!.body).toEqual({ jobIds: ['a1', 'a2'], batchId: 'b1' });
      expect(delivery!.headers['content-type']).toBe('application/json');
      expect(delivery!.queueName).toBe(queueId());
      expect(delivery!.taskName).toBe('job-a1');
      expect(delivery!.retryCount).toBe(0);
      expect(delivery!.executionCount).toBe(0);
      expect(delivery!.eta).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(delivery!.eta) * 1000).toBeGreaterThanOrEqual(before - 1);
      expect(Number(delivery!.eta) * 1000).toBeLessThanOrEqual(after + 1);
    });

    it('creates a named task once: the same name again is DUPLICATE and delivered once', async () => {
      const first = await h.queue.enqueue([
        { name: 'dup', payload: payload('j1') },
        { name: 'dup', payload: payload('other') },
      ]);
      const again = await h.queue.enqueue([{ name: 'dup', payload: payload('j1') }]);
      expect(first.map((o) => o.status)).toEqual(['CREATED', 'DUPLICATE']);
      expect(again).toEqual([{ name: 'dup', status: 'DUPLICATE' }]);

      await h.receiver.waitForDeliveries(1, 'dup');
      await drained();
      expect(h.receiver.deliveries.map((d) => d.body)).toEqual([payload('j1')]);
    });

    it('keeps a completed task’s name taken', async () => {
      await h.queue.enqueue([{ name: 'done-once', payload: payload('j1') }]);
      await h.receiver.waitForDeliveries(1);
      await drained();
      expect(await h.queue.enqueue([{ name: 'done-once', payload: payload('j1') }])).toEqual([
        { name: 'done-once', status: 'DUPLICATE' },
      ]);
    });

    it('does not deliver a task before its scheduleAt and sends that time as the ETA', async () => {
      const scheduleAt = new Date(Date.now() + 300);
      await h.queue.enqueue([
        { name: 'later', payload: payload('l'), scheduleAt },
        { name: 'now', payload: payload('n') },
      ]);
      const deliveries = await h.receiver.waitForDeliveries(2);
      expect(deliveries.map((d) => d.taskName)).toEqual(['now', 'later']);
      expect(deliveries[1]!.receivedAtMs).toBeGreaterThanOrEqual(scheduleAt.getTime());
      expect(Math.abs(Number(deliveries[1]!.eta) * 1000 - scheduleAt.getTime())).toBeLessThan(1);
    });

    it('retries a 5xx with growing backoff and retry counts, then a 2xx ends it', async () => {
      h.receiver.respond((d) => (d.retryCount < 2 ? 503 : 200));
      await h.queue.enqueue([{ name: 'flaky', payload: payload('f') }]);

      const deliveries = await h.receiver.waitForDeliveries(3);
      await drained();
      expect(h.receiver.deliveries).toHaveLength(3);
      expect(deliveries.map((d) => d.retryCount)).toEqual([0, 1, 2]);
      // Cloud Tasks' execution count leaves out 5xx answers.
      expect(deliveries.map((d) => d.executionCount)).toEqual([0, 0, 0]);
      const [first, second, third] = deliveries.map((d) => d.receivedAtMs) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(h.settings.minBackoffMs);
      expect(third - second).toBeGreaterThanOrEqual(2 * h.settings.minBackoffMs);
    });

    it('counts a 4xx answer in the execution count and sends the previous status', async () => {
      h.receiver.respond((d) => (d.retryCount === 0 ? 429 : 200));
      await h.queue.enqueue([{ name: 'throttled', payload: payload('t') }]);

      const [, retry] = await h.receiver.waitForDeliveries(2);
      expect(retry!.retryCount).toBe(1);
      expect(retry!.executionCount).toBe(1);
      expect(retry!.headers['x-cloudtasks-taskpreviousresponse']).toBe('429');
    });

    it('retries a connection cut without an answer, which is no execution', async () => {
      h.receiver.respond((d) => (d.retryCount === 0 ? 'drop' : 200));
      await h.queue.enqueue([{ name: 'cut', payload: payload('c') }]);

      const [, retry] = await h.receiver.waitForDeliveries(2);
      expect(retry!.retryCount).toBe(1);
      expect(retry!.executionCount).toBe(0);
    });

    it('gives a task up after maxAttempts and keeps its name taken', async () => {
      h.receiver.respond(() => 500);
      await h.queue.enqueue([{ name: 'doomed', payload: payload('d') }]);

      await h.receiver.waitForDeliveries(h.settings.maxAttempts);
      await drained();
      const deliveries = h.receiver.deliveries;
      expect(deliveries).toHaveLength(h.settings.maxAttempts);
      expect(deliveries.at(-1)!.retryCount).toBe(h.settings.maxAttempts - 1);
      expect(await h.queue.enqueue([{ name: 'doomed', payload: payload('d') }])).toEqual([
        { name: 'doomed', status: 'DUPLICATE' },
      ]);
    });

    it('never has more than maxConcurrentDispatches deliveries in flight', async () => {
      const limit = h.settings.maxConcurrentDispatches;
      const held: Array<() => void> = [];
      // Whenever the slots are full, keep them full for a while before freeing the oldest:
      // proving that nothing more is sent takes a window in which it could have been.
      h.receiver.respond(() => {
        const gate = deferred<Reply>();
        held.push(() => gate.resolve(200));
        if (h.receiver.inFlight >= limit) setTimeout(() => held.shift()?.(), FULL_WINDOW_MS);
        return gate.promise;
      });
      const count = limit * 3;
      await h.queue.enqueue(Array.from({ length: count }, (_, i) => ({ name: `c${i}`, payload: payload(`c${i}`) })));

      await h.receiver.waitForDeliveries(count);
      for (const release of held.splice(0)) release();
      await drained();
      expect(h.receiver.maxInFlight).toBe(limit);
      expect(new Set(h.receiver.deliveries.map((d) => d.taskName)).size).toBe(count);
    });

    it('delivers each task once when the worker answers 2xx', async () => {
      const names = ['ok-1', 'ok-2', 'ok-3', 'ok-4', 'ok-5'];
      await h.queue.enqueue(names.map((name) => ({ name, payload: payload(name) })));

      await h.receiver.waitForDeliveries(names.length);
      await drained();
      expect(h.receiver.deliveries.map((d) => d.taskName).sort()).toEqual(names);
      expect(h.receiver.deliveries.every((d) => d.retryCount === 0)).toBe(true);
    });

    it('counts waiting and in-flight tasks in depth()', async () => {
      const gate = deferred<Reply>();
      h.receiver.respond(() => gate.promise);
      expect(await h.queue.depth()).toBe(0);

      const inAnHour = new Date(Date.now() + 3_600_000);
      await h.queue.enqueue([
        { name: 'busy', payload: payload('b') },
        { name: 'future-1', payload: payload('f1'), scheduleAt: inAnHour },
        { name: 'future-2', payload: payload('f2'), scheduleAt: inAnHour },
        { name: 'future-2', payload: payload('f2'), scheduleAt: inAnHour },
      ]);
      await h.receiver.waitForDeliveries(1, 'busy');
      expect(await h.queue.depth()).toBe(3);

      gate.resolve(204);
      await waitUntil(async () => (await h.queue.depth()) === 2, 'the answered task left the queue');
    });

    it('rejects a body over 100 KB and stores nothing from that call', async () => {
      const huge = payload(...Array.from({ length: 5_000 }, (_, i) => `job-${String(i).padStart(20, '0')}`));
      await expect(
        h.queue.enqueue([
          { name: 'small', payload: payload('s') },
          { name: 'huge', payload: huge },
        ]),
      ).rejects.toThrow(/100 KB/);
      expect(await h.queue.depth()).toBe(0);
      expect(await h.queue.enqueue([{ name: 'small', payload: payload('s') }])).toEqual([{ name: 'small', status: 'CREATED' }]);
    });

    it('rejects a task name Cloud Tasks would refuse', async () => {
      await expect(h.queue.enqueue([{ name: 'jobs/with spaces', payload: payload('x') }])).rejects.toThrow(/name/);
      expect(await h.queue.depth()).toBe(0);
    });
  });
}
