import { describe, expect, it } from 'vitest';
import type { Firestore } from '@google-cloud/firestore';
import { emulatorClientsClosedAfterAll, emulatorFirestore } from '../../../test/support/emulators/firestore.js';
import type { WebhookDelivery } from '../../ports/webhook-store.js';
import { at, newId } from '../../ports/testing/records.js';
import { describeWebhookStoreContract } from '../../ports/webhook-store.contract.js';
import { enqueueWebhookDelivery } from './firestore/webhook-outbox.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { FirestoreWebhookStore } from './firestore-webhook-store.js';

const URL = 'https://hooks.example.org/omtx';
const LEASE_MS = 40_000;

/** Emulator clients, each in a fresh project unless given one, closed after the file's tests. */
const client = emulatorClientsClosedAfterAll();

/** What the FirestoreJobStore does when a batch with a webhook ends: the outbox write in a transaction. */
async function endBatch(db: Firestore, batchId: string, time: number, status = 'COMPLETED'): Promise<void> {
  await db.runTransaction(async (tx) => {
    enqueueWebhookDelivery(tx, db, { id: batchId, owner: 'alice', webhookUrl: URL, status }, at(time).getTime());
  });
}

describeWebhookStoreContract('Firestore (emulator)', async () => {
  const { db } = emulatorFirestore();
  const jobs = new FirestoreJobStore(db);
  return {
    jobs,
    webhooks: new FirestoreWebhookStore(db),
    async close() {
      await jobs.close();
      await db.terminate();
    },
  };
});

describe('FirestoreWebhookStore', () => {
  it('stores one waiting delivery per ending, however often the outbox write runs', async () => {
    const { db } = client();
    const webhooks = new FirestoreWebhookStore(db);
    const batchId = newId('batch');
    await endBatch(db, batchId, 10, 'FAILED');
    await endBatch(db, batchId, 10, 'FAILED');
    const id = `${batchId}:${at(10).getTime()}`;
    expect((await db.collection('webhook_deliveries').doc(id).get()).data()).toMatchObject({
      batch_id: batchId,
      owner: 'alice',
      url: URL,
      event: 'batch.failed',
      state: 'waiting',
      attempts: 0,
      finished_at: null,
    });
    expect(await webhooks.claimDue(at(20), LEASE_MS, 10)).toEqual([
      { id, batchId, owner: 'alice', url: URL, event: 'batch.failed', attempt: 1, createdAt: at(10) },
    ]);
  });

  it('never hands one delivery to two api processes claiming at once', async () => {
    const first = client();
    const processes = [first.db, client(first.projectId).db].map((db) => new FirestoreWebhookStore(db));
    const batchIds = Array.from({ length: 24 }, () => newId('batch'));
    for (const [i, batchId] of batchIds.entries()) await endBatch(first.db, batchId, i);

    // Each process sweeps, a few at a time, until nothing is due for it.
    const sweep = async (store: FirestoreWebhookStore): Promise<WebhookDelivery[]> => {
      const taken: WebhookDelivery[] = [];
      for (;;) {
        const claimed = await store.claimDue(at(1_000), LEASE_MS, 4);
        if (claimed.length === 0) return taken;
        taken.push(...claimed);
      }
    };
    const [a, b] = await Promise.all(processes.map(sweep));
    const ids = [...a!, ...b!].map((d) => d.batchId);
    expect(ids.sort()).toEqual([...batchIds].sort());
    expect([...a!, ...b!].every((d) => d.attempt === 1)).toBe(true);
  });
});
