import { print } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestServer, type TestServer } from '../support/server.js';
import { fakeResult, startTestWorker, type TestWorker } from '../support/test-worker.js';
import { LIGANDS, ligands, vinaProtein } from '../support/inputs.js';
import type { ChangeFeed } from '../../src/ports/change-feed.js';
import {
  BatchDocument,
  BatchProgressDocument,
  CancelBatchDocument,
  JobDocument,
  JobUpdatedDetailDocument,
  SubmitBatchDocument,
  SubmitPredictionDocument,
  type BatchProgressSubscription,
  type JobUpdatedDetailSubscription,
} from '../../schema/__generated__/graphql.js';

const BATCH_PROGRESS = print(BatchProgressDocument);
const JOB_UPDATED = print(JobUpdatedDetailDocument);
type BatchEvent = BatchProgressSubscription['batchProgress'];

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A test worker whose jobs are held RUNNING while their name starts with a held prefix:
 * `hold('x-')` returns the function that lets them finish.
 */
async function startHoldingWorker(server: () => TestServer) {
  const worker = await startTestWorker(() => server().app.jobs);
  const gates = new Map<string, Promise<void>>();
  worker.setHandler(async (job) => {
    for (const [prefix, gate] of gates) if (job.name?.startsWith(prefix)) await gate;
    return { result: fakeResult(job) };
  });
  const open: (() => void)[] = [];
  const hold = (prefix: string) => {
    const gate = deferred();
    gates.set(prefix, gate.promise);
    open.push(gate.resolve);
    return gate.resolve;
  };
  /** Lets every held job go, so a failed test does not block the next one's dispatches. */
  const releaseAll = () => open.splice(0).forEach((release) => release());
  return { worker, hold, releaseAll };
}

/** Counts how often the hub starts and stops an upstream change-feed listener on a batch. */
function countBatchListeners(feed: ChangeFeed) {
  const original = feed.watchBatch;
  const counts = { listens: 0, unlistens: 0 };
  feed.watchBatch = (batchId, onChange) => {
    counts.listens++;
    const stop = original.call(feed, batchId, onChange);
    return () => {
      counts.unlistens++;
      stop();
    };
  };
  return { counts, restore: () => void (feed.watchBatch = original) };
}

describe('subscriptions over graphql-ws', () => {
  let server: TestServer;
  let worker: TestWorker;
  let hold: (prefix: string) => () => void;
  let releaseAll: () => void;

  beforeAll(async () => {
    ({ worker, hold, releaseAll } = await startHoldingWorker(() => server));
    server = await startTestServer({ OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '4' });
  });
  afterEach(async () => {
    releaseAll();
    // Every test leaves the hub as it found it: no watched object, no subscriber.
    await expect.poll(() => server.app.hub.stats(), { timeout: 10_000 }).toEqual({ topics: 0, subscribers: 0 });
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
  });

  async function submitBatch(prefix: string, n: number) {
    const { data, errors } = await server.request(SubmitBatchDocument, {
      input: {
        model: 'VINA',
        name: prefix,
        protein: vinaProtein(),
        ligands: ligands(n).map((l, i) => ({ ...l, name: `${prefix}${i}` })),
      },
    });
    expect(errors).toBeUndefined();
    return data!.submitBatch.batch.id;
  }

  async function progressOf(id: string) {
    return (await server.request(BatchDocument, { id })).data!.batch!.progress;
  }

  function subscribeBatch(id: string, client = server.wsClient()) {
    return collect<{ batchProgress: BatchEvent }>(client, BATCH_PROGRESS, { id });
  }

  /** The ETA moves with the clock; the counters must match exactly. */
  function withoutEta({ etaSeconds: _eta, ...counters }: BatchEvent['progress']) {
    return counters;
  }

  function expectEnded(event: BatchEvent) {
    const p = event.progress;
    expect(p.completed + p.failed + p.cancelled).toBe(p.total);
    expect(p.pending + p.queued + p.running).toBe(0);
    expect(p.percent).toBe(100);
  }

  it('sends the current progress first even when nothing changes, then the changes, and completes after the terminal state', async () => {
    const release = hold('first-');
    const id = await submitBatch('first-', 6);
    // Shards [0-3] and [4-5] run at once; their first children are held RUNNING.
    await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2, queued: 4, completed: 0 });

    const sub = subscribeBatch(id);
    await expect.poll(() => sub.events.length).toBe(1);
    const [first] = sub.events;
    expect(first!.batchProgress.batch).toEqual({ id, status: 'RUNNING' });
    expect(withoutEta(first!.batchProgress.progress)).toEqual(withoutEta(await progressOf(id)));
    expect(first!.batchProgress.changedJobs).toEqual([]);

    release();
    const events = (await sub.done).map((e) => e.batchProgress);
    expect(sub.errors).toEqual([]);
    expect(events.length).toBeGreaterThanOrEqual(2);
    const last = events[events.length - 1]!;
    expect(last.batch.status).toBe('COMPLETED');
    expect(last.progress).toMatchObject({ total: 6, completed: 6, failed: 0, cancelled: 0, etaSeconds: 0 });
    expectEnded(last);
    // Progress only moves forward, and only the last event is terminal.
    const completed = events.map((e) => e.progress.completed);
    expect([...completed].sort((a, b) => a - b)).toEqual(completed);
    expect(events.slice(0, -1).every((e) => e.batch.status === 'RUNNING')).toBe(true);

    // Every child changed after we subscribed: each shows up in changedJobs, last as COMPLETED.
    const lastSeen = new Map<string, string>();
    for (const e of events.slice(1)) for (const j of e.changedJobs) lastSeen.set(j.id, j.status);
    expect(lastSeen.size).toBe(6);
    expect(new Set(lastSeen.values())).toEqual(new Set(['COMPLETED']));
  });

  it('gives a subscriber who joins a watched batch mid-run the current state first, without older changes', async () => {
    const releaseFirst = hold('late-');
    const id = await submitBatch('late-', 8);
    await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2, completed: 0 });
    const early = subscribeBatch(id);
    await expect.poll(() => early.events.length).toBe(1);

    // Let the first children finish, holding the rest, so the early subscriber sees changes.
    releaseFirst();
    const releaseRest = hold('late-');
    await expect.poll(() => early.events.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2, completed: 2 });

    const late = subscribeBatch(id);
    await expect.poll(() => late.events.length).toBe(1);
    expect(late.events[0]!.batchProgress.changedJobs).toEqual([]);
    expect(withoutEta(late.events[0]!.batchProgress.progress)).toEqual(withoutEta(await progressOf(id)));
    expect(server.app.hub.stats()).toEqual({ topics: 1, subscribers: 2 });

    releaseRest();
    const [earlyEvents, lateEvents] = await Promise.all([early.done, late.done]);
    for (const events of [earlyEvents, lateEvents]) {
      const last = events[events.length - 1]!.batchProgress;
      expect(last.batch.status).toBe('COMPLETED');
      expect(last.progress.completed).toBe(8);
    }
  });

  it('sends one terminal event to a subscriber of an already-finished batch, then completes', async () => {
    const id = await submitBatch('finished-', 3);
    await expect
      .poll(async () => (await server.request(BatchDocument, { id })).data!.batch!.status, { timeout: 10_000 })
      .toBe('COMPLETED');
    const sub = subscribeBatch(id);
    const events = await sub.done;
    expect(sub.errors).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]!.batchProgress.batch.status).toBe('COMPLETED');
    expect(events[0]!.batchProgress.changedJobs).toEqual([]);
    expectEnded(events[0]!.batchProgress);
  });

  it('delivers CANCELLED as the terminal state when the batch is cancelled mid-run', async () => {
    const release = hold('cancel-sub-');
    const id = await submitBatch('cancel-sub-', 8);
    await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2 });
    const sub = subscribeBatch(id);
    await expect.poll(() => sub.events.length).toBe(1);

    expect((await server.request(CancelBatchDocument, { id })).errors).toBeUndefined();
    const events = (await sub.done).map((e) => e.batchProgress);
    release();
    const last = events[events.length - 1]!;
    expect(last.batch.status).toBe('CANCELLED');
    expect(last.progress).toMatchObject({ total: 8, cancelled: 8, completed: 0 });
    expectEnded(last);
    expect(new Set(last.changedJobs.map((j) => j.status))).toEqual(new Set(['CANCELLED']));
    await expect.poll(() => server.app.queue.depth(), { timeout: 10_000 }).toBe(0);
  });

  it('sends jobUpdated the current state first, then RUNNING and COMPLETED, then completes', async () => {
    // Two held shards take both dispatch slots, so the job waits QUEUED until they are released.
    const releaseBlockers = hold('blocker-');
    const releaseJob = hold('watched-job');
    const blockers = await submitBatch('blocker-', 8);
    await expect.poll(() => progressOf(blockers), { timeout: 10_000 }).toMatchObject({ running: 2 });
    const submitted = await server.request(SubmitPredictionDocument, {
      input: { model: 'VINA', name: 'watched-job', protein: vinaProtein(), ligand: LIGANDS[1]! },
    });
    expect(submitted.errors).toBeUndefined();
    const jobId = submitted.data!.submitPrediction.job.id;
    expect((await server.request(JobDocument, { id: jobId })).data!.job!.status).toBe('QUEUED');

    const sub = collect<JobUpdatedDetailSubscription>(server.wsClient(), JOB_UPDATED, { id: jobId });
    await expect.poll(() => sub.events.length).toBe(1);
    expect(sub.events[0]!.jobUpdated).toMatchObject({ id: jobId, status: 'QUEUED', attempts: 0, result: null });

    releaseBlockers();
    await expect.poll(() => sub.events.map((e) => e.jobUpdated.status), { timeout: 10_000 }).toEqual(['QUEUED', 'RUNNING']);
    expect(sub.events[1]!.jobUpdated.attempts).toBe(1);
    releaseJob();
    const events = (await sub.done).map((e) => e.jobUpdated);
    expect(sub.errors).toEqual([]);
    expect(events.map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']);
    expect(events[2]!.result!.affinity!.value).toBeLessThan(0);

    // A finished job: one terminal event, then complete.
    const again = collect<JobUpdatedDetailSubscription>(server.wsClient(), JOB_UPDATED, { id: jobId });
    expect((await again.done).map((e) => e.jobUpdated.status)).toEqual(['COMPLETED']);
    await expect
      .poll(async () => (await server.request(BatchDocument, { id: blockers })).data!.batch!.status, { timeout: 10_000 })
      .toBe('COMPLETED');
  });

  it('answers an unknown batch or job id with NOT_FOUND', async () => {
    for (const query of [BATCH_PROGRESS, JOB_UPDATED]) {
      const sub = collect(server.wsClient(), query, { id: 'no-such-id' });
      const outcome = await sub.done.then(
        (events) => ({ events, errors: sub.errors }),
        (error: unknown) => ({ events: sub.events, errors: Array.isArray(error) ? error : [error] }),
      );
      expect(outcome.events).toEqual([]);
      expect(outcome.errors).toHaveLength(1);
      expect((outcome.errors[0] as { extensions?: { code?: string } }).extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('shares one upstream listener among 50 subscribers of one batch, and lets it go when they are done', async () => {
    const listeners = countBatchListeners(server.app.feed);
    try {
      const release = hold('shared-');
      const id = await submitBatch('shared-', 5);
      await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2 });

      const clients = Array.from({ length: 5 }, () => server.wsClient());
      const subs = Array.from({ length: 50 }, (_, i) => subscribeBatch(id, clients[i % clients.length]));
      await expect.poll(() => subs.every((s) => s.events.length >= 1), { timeout: 10_000 }).toBe(true);
      expect(server.app.hub.stats()).toEqual({ topics: 1, subscribers: 50 });
      expect(listeners.counts).toEqual({ listens: 1, unlistens: 0 });

      release();
      const all = await Promise.all(subs.map((s) => s.done));
      for (const events of all) {
        const last = events[events.length - 1]!.batchProgress;
        expect(last.batch.status).toBe('COMPLETED');
        expectEnded(last);
      }
      await expect.poll(() => server.app.hub.stats()).toEqual({ topics: 0, subscribers: 0 });
      expect(listeners.counts).toEqual({ listens: 1, unlistens: 1 });
    } finally {
      listeners.restore();
    }
  });

  it('frees a subscription when its client disposes or unsubscribes mid-way', async () => {
    const listeners = countBatchListeners(server.app.feed);
    const release = hold('leave-');
    try {
      const id = await submitBatch('leave-', 5);
      await expect.poll(() => progressOf(id), { timeout: 10_000 }).toMatchObject({ running: 2 });

      const leaving = server.wsClient();
      const a = subscribeBatch(id, leaving);
      a.done.catch(() => {}); // how a disposed client ends its sinks is the client's business
      const b: BatchEvent[] = [];
      const unsubscribeB = server
        .wsClient()
        .subscribe<{ batchProgress: BatchEvent }>(
          { query: BATCH_PROGRESS, variables: { id } },
          { next: (v) => v.data && b.push(v.data.batchProgress), error: () => {}, complete: () => {} },
        );
      await expect.poll(() => a.events.length >= 1 && b.length >= 1).toBe(true);
      expect(server.app.hub.stats()).toEqual({ topics: 1, subscribers: 2 });

      await leaving.dispose();
      await expect.poll(() => server.app.hub.stats()).toEqual({ topics: 1, subscribers: 1 });
      expect(listeners.counts).toEqual({ listens: 1, unlistens: 0 });

      unsubscribeB();
      await expect.poll(() => server.app.hub.stats()).toEqual({ topics: 0, subscribers: 0 });
      expect(listeners.counts).toEqual({ listens: 1, unlistens: 1 });
    } finally {
      release();
      listeners.restore();
    }
  });
});

describe('batchProgress under a burst of changes', () => {
  let server: TestServer;
  let worker: TestWorker;
  let hold: (prefix: string) => () => void;
  let releaseAll: () => void;

  beforeAll(async () => {
    ({ worker, hold, releaseAll } = await startHoldingWorker(() => server));
    // Ten shards of four in flight at once: released together, 40 children end within moments.
    server = await startTestServer({ OMTX_WORKER_URL: worker.url, OMTX_SHARD_SIZE: '4', OMTX_DISPATCH_CONCURRENCY: '10' });
  });
  afterAll(async () => {
    releaseAll();
    await server.close();
    await worker.close();
  });

  it('coalesces the burst into fewer events than job changes, and the last event is the terminal state', async () => {
    const release = hold('burst-');
    const { data } = await server.request(SubmitBatchDocument, {
      input: {
        model: 'VINA',
        name: 'burst',
        protein: vinaProtein(),
        ligands: ligands(40).map((l, i) => ({ ...l, name: `burst-${i}` })),
      },
    });
    const id = data!.submitBatch.batch.id;
    await expect
      .poll(async () => (await server.request(BatchDocument, { id })).data!.batch!.progress.running, { timeout: 10_000 })
      .toBe(10);

    const sub = collect<{ batchProgress: BatchEvent }>(server.wsClient(), BATCH_PROGRESS, { id });
    await expect.poll(() => sub.events.length).toBe(1);
    release();
    const events = (await sub.done).map((e) => e.batchProgress);

    // After we subscribed, 10 children went RUNNING → COMPLETED and 30 QUEUED → RUNNING → COMPLETED.
    const jobChanges = 10 + 30 * 2;
    expect(events.length).toBeLessThan(jobChanges);
    expect(events.length).toBeLessThan(40);
    const last = events[events.length - 1]!;
    expect(last.batch.status).toBe('COMPLETED');
    expect(last.progress).toMatchObject({ total: 40, completed: 40 });
    expect(events.filter((e) => e.batch.status !== 'RUNNING')).toHaveLength(1);

    // Coalesced events still name every child that changed, each last seen COMPLETED.
    const lastSeen = new Map<string, string>();
    for (const e of events.slice(1)) for (const j of e.changedJobs) lastSeen.set(j.id, j.status);
    expect(lastSeen.size).toBe(40);
    expect(new Set(lastSeen.values())).toEqual(new Set(['COMPLETED']));
  });
});
