import type { Firestore } from '@google-cloud/firestore';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '../../domain/job.js';
import { recorder } from '../../ports/change-feed.contract.js';
import { at, buildBatch, buildResult } from '../../ports/testing/records.js';
import { emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import { FirestoreChangeFeed } from './firestore-change-feed.js';
import { FirestoreJobStore } from './firestore-job-store.js';

/** The feed's upstream listeners, seen through its `onListen` hook: which are live, how often each started. */
function listenerProbe() {
  const live = new Map<string, number>();
  const starts: string[] = [];
  const fails = new Map<string, (error: Error) => void>();
  const onListen = (key: string, fail: (error: Error) => void) => {
    starts.push(key);
    fails.set(key, fail);
    live.set(key, (live.get(key) ?? 0) + 1);
    return () => live.set(key, live.get(key)! - 1);
  };
  const liveCount = () => [...live.values()].reduce((a, b) => a + b, 0);
  return { onListen, starts, fails, live, liveCount };
}

let db: Firestore;
let feed: FirestoreChangeFeed;
afterEach(async () => {
  await feed.close();
  await db.terminate();
});

async function runningBatch(store: FirestoreJobStore, size: number): Promise<{ batch: Batch; ids: string[] }> {
  const { batch, children } = buildBatch(size);
  await store.createBatch(batch, children);
  const ids = children.map((c) => c.id);
  await Promise.all(ids.map((id) => store.claim(id, at(0), 60_000)));
  return { batch, ids };
}

describe('FirestoreChangeFeed upstream listeners', () => {
  it('shares one upstream per watched batch among its watchers and closes it with the last one', async () => {
    db = emulatorFirestore().db;
    const probe = listenerProbe();
    feed = new FirestoreChangeFeed(db, { clockSkewMs: 0, onListen: probe.onListen });
    const store = new FirestoreJobStore(db);
    const { batch } = await runningBatch(store, 2);
    const key = `batch:${batch.id}`;

    const unsubscribes = Array.from({ length: 5 }, () => feed.watchBatch(batch.id, () => {}));
    expect(probe.starts.sort()).toEqual([`${key}:children`, `${key}:parent`]);
    expect(probe.liveCount()).toBe(2);
    unsubscribes.slice(0, 4).forEach((unsubscribe) => unsubscribe());
    expect(probe.liveCount()).toBe(2);
    unsubscribes[4]!();
    expect(probe.liveCount()).toBe(0);
    // Unsubscribing twice changes nothing; a new watcher opens a new upstream.
    unsubscribes[4]!();
    const again = feed.watchBatch(batch.id, () => {});
    expect(probe.liveCount()).toBe(2);
    again();
    expect(probe.liveCount()).toBe(0);
  });

  it('re-establishes listeners broken mid-batch, and the watchers still see the terminal state', async () => {
    db = emulatorFirestore().db;
    const probe = listenerProbe();
    feed = new FirestoreChangeFeed(db, { clockSkewMs: 0, retryBaseMs: 100, onListen: probe.onListen });
    const store = new FirestoreJobStore(db);
    const { batch, ids } = await runningBatch(store, 10);
    const key = `batch:${batch.id}`;
    // Each watcher re-reads the batch when told, as the subscriptions do.
    const watchers = [recorder<[Batch['status']]>(15_000), recorder<[Batch['status']]>(15_000)];
    for (const w of watchers) {
      feed.watchBatch(batch.id, () => void store.getBatches([batch.id]).then(([b]) => w.listener(b!.status)));
    }
    await Promise.all(ids.slice(0, 5).map((id, i) => store.complete(id, 1, buildResult(), at(1_000 + i))));
    await watchers[0]!.until((calls) => calls.length > 0, 'a change before the break');

    probe.fails.get(`${key}:parent`)!(new Error('UNAVAILABLE: stream reset by test'));
    probe.fails.get(`${key}:children`)!(new Error('UNAVAILABLE: stream reset by test'));
    expect(probe.liveCount()).toBe(0);
    // The rest of the batch ends while the listeners are down.
    await Promise.all(ids.slice(5).map((id, i) => store.complete(id, 1, buildResult(), at(2_000 + i))));
    expect((await store.getBatches([batch.id]))[0]!.status).toBe('COMPLETED');

    for (const w of watchers) await w.until((calls) => calls.some(([status]) => status === 'COMPLETED'), 'the COMPLETED batch');
    expect(probe.starts.filter((k) => k === `${key}:children`)).toHaveLength(2);
    expect(probe.starts.filter((k) => k === `${key}:parent`)).toHaveLength(2);
    expect(probe.liveCount()).toBe(2);
  });
});
