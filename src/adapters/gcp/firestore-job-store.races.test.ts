import type { Firestore } from '@google-cloud/firestore';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { at, buildBatch, buildJob, buildResult } from '../../ports/testing/records.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { WEBHOOK_DELIVERIES } from './firestore/webhook-outbox.js';

/**
 * Workers of several processes on one Firestore project: each store has its own client (its
 * own gRPC channel and transaction retries), as two Cloud Run instances would.
 */
const LEASE_MS = 60_000;
let clients: Firestore[] = [];

function processes(n: number): { stores: FirestoreJobStore[]; db: Firestore } {
  const first = emulatorFirestore();
  clients = [first.db, ...Array.from({ length: n - 1 }, () => emulatorFirestore(first.projectId).db)];
  return { stores: clients.map((db) => new FirestoreJobStore(db)), db: first.db };
}

afterEach(async () => {
  await Promise.all(clients.map((db) => db.terminate()));
  clients = [];
});

describe('FirestoreJobStore under workers racing from separate processes', () => {
  it('lets exactly one of two workers claim a job, 20 times over', async () => {
    const { stores } = processes(2);
    const [a, b] = stores as [FirestoreJobStore, FirestoreJobStore];
    const jobs = Array.from({ length: 20 }, () => buildJob());
    await Promise.all(jobs.map((job) => a.createJob(job)));
    await a.markQueued(
      jobs.map((j) => j.id),
      at(0),
    );
    // The 20 races run side by side (one job each): a lost race costs the SDK's ~1 s ABORTED backoff.
    await Promise.all(
      jobs.map(async (job) => {
        const outcomes = await Promise.all([a.claim(job.id, at(10), LEASE_MS), b.claim(job.id, at(10), LEASE_MS)]);
        const won = outcomes.filter((o) => o.claimed);
        expect(won, `claims of ${job.id}`).toHaveLength(1);
        expect(won[0]).toMatchObject({ attempt: 1 });
        expect(outcomes.find((o) => !o.claimed)).toMatchObject({ claimed: false, reason: 'LEASED' });
        const [stored] = await b.getJobs([job.id]);
        expect(stored).toMatchObject({ status: 'RUNNING', attempts: 1 });
      }),
    );
  });

  it('lets only the attempt holding the lease complete when an expired attempt and its successor both finish', async () => {
    const { stores } = processes(2);
    const [a, b] = stores as [FirestoreJobStore, FirestoreJobStore];
    const { batch, children } = buildBatch(20);
    await a.createBatch(batch, children);
    for (const child of children) {
      const first = await a.claim(child.id, at(0), LEASE_MS);
      const second = await b.claim(child.id, at(LEASE_MS + 1), LEASE_MS); // the first lease expired
      expect([first, second]).toMatchObject([{ attempt: 1 }, { attempt: 2 }]);
      const [late, current] = await Promise.all([
        a.complete(child.id, 1, buildResult({ affinity: -1 }), at(LEASE_MS + 2)),
        b.complete(child.id, 2, buildResult({ affinity: -2 }), at(LEASE_MS + 2)),
      ]);
      expect(late, `stale attempt of ${child.id}`).toBeNull();
      expect(current).toMatchObject({ status: 'COMPLETED', attempts: 2, result: { affinity: { value: -2 } } });
    }
    const [stored] = await b.getBatches([batch.id]);
    expect(stored).toMatchObject({ status: 'COMPLETED', counts: { completed: 20, running: 0, pending: 0 } });
  });

  it('keeps counts, usage sums and the ending exact under 50 concurrent completions from 5 processes, and writes one webhook delivery', async () => {
    const { stores, db } = processes(5);
    const { batch, children } = buildBatch(50, { webhookUrl: 'https://lab.example/hooks/omtx' });
    await stores[0]!.createBatch(batch, children);
    await stores[0]!.markQueued(
      children.map((c) => c.id),
      at(0),
    );
    // Worker p takes children p, p+5, p+10, …: each process completes 10, all at once.
    const attempts = await Promise.all(children.map((c, i) => stores[i % 5]!.claim(c.id, at(1_000), LEASE_MS)));
    expect(attempts.every((o) => o.claimed)).toBe(true);
    const usage = (i: number) => ({ runtimeMs: 1_000 + i, gpuMs: 900 + i, costNanoUsd: 290_700 + i });
    const done = await Promise.all(
      children.map((c, i) => stores[i % 5]!.complete(c.id, 1, buildResult({ affinity: -i / 10 }), at(2_000 + i), usage(i))),
    );
    expect(done.every((j) => j?.status === 'COMPLETED')).toBe(true);

    const [stored] = await stores[3]!.getBatches([batch.id]);
    const sum = (f: (i: number) => number) => children.reduce((n, _, i) => n + f(i), 0);
    expect(stored).toMatchObject({
      status: 'COMPLETED',
      total: 50,
      counts: { pending: 0, queued: 0, running: 0, completed: 50, failed: 0, cancelled: 0 },
      usage: {
        runtimeMs: sum((i) => usage(i).runtimeMs),
        gpuMs: sum((i) => usage(i).gpuMs),
        costNanoUsd: sum((i) => usage(i).costNanoUsd),
      },
    });
    expect(stored!.completedAt).toBeInstanceOf(Date);
    expect(stored!.completedAt!.getTime()).toBeGreaterThanOrEqual(at(2_000).getTime());
    const deliveries = await db.collection(WEBHOOK_DELIVERIES).where('batch_id', '==', batch.id).get();
    expect(deliveries.docs.map((d) => d.get('event'))).toEqual([expect.any(String)]);
    expect(deliveries.docs[0]!.get('url')).toBe('https://lab.example/hooks/omtx');
  });
});
