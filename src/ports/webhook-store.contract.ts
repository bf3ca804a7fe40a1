import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from './job-store.js';
import type { WebhookAttempt, WebhookDelivery, WebhookStore } from './webhook-store.js';
import { claimOk } from './job-store.contract.js';
import { at, buildBatch, buildResult } from './testing/records.js';

/** A JobStore (which writes the outbox) and a WebhookStore on the same fresh storage. */
export interface WebhookHarness {
  jobs: JobStore;
  webhooks: WebhookStore;
  close(): Promise<void>;
}

const URL = 'https://hooks.example.org/omtx';
const LEASE_MS = 40_000;
const FAILED = { code: 'BAD_INPUT', message: 'no heavy atoms', retryable: false };

/** Runs every child of a batch to COMPLETED (or FAILED) at `time`. */
async function finishAll(jobs: JobStore, ids: string[], time: number, how: 'complete' | 'fail' = 'complete'): Promise<void> {
  await jobs.markQueued(ids, at(time));
  for (const id of ids) {
    const attempt = await claimOk(jobs, id, at(time));
    if (how === 'complete') await jobs.complete(id, attempt, buildResult(), at(time));
    else await jobs.fail(id, attempt, FAILED, at(time));
  }
}

function attemptOf(delivery: WebhookDelivery, time: number, fields: Partial<WebhookAttempt> = {}): WebhookAttempt {
  return {
    deliveryId: delivery.id,
    batchId: delivery.batchId,
    event: delivery.event,
    attempt: delivery.attempt,
    outcome: 'FAILED',
    responseStatus: 500,
    error: 'the receiver answered HTTP 500',
    at: at(time),
    durationMs: 12,
    nextAttemptAt: null,
    ...fields,
  };
}

/** The outbox a JobStore writes and the claims, retries and log of a WebhookStore. */
export function describeWebhookStoreContract(name: string, makeHarness: () => Promise<WebhookHarness>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let h: WebhookHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    it('records one waiting delivery when a batch with a webhook ends, and none for a batch without', async () => {
      const hooked = buildBatch(3, { webhookUrl: URL });
      const plain = buildBatch(2);
      await h.jobs.createBatch(hooked.batch, hooked.children);
      await h.jobs.createBatch(plain.batch, plain.children);
      await finishAll(h.jobs, hooked.children.map((c) => c.id).slice(0, 2), 10);
      expect(await h.webhooks.claimDue(at(1_000_000), LEASE_MS, 10)).toEqual([]);

      await finishAll(h.jobs, [hooked.children[2]!.id], 20);
      await finishAll(
        h.jobs,
        plain.children.map((c) => c.id),
        30,
      );
      const due = await h.webhooks.claimDue(at(40), LEASE_MS, 10);
      expect(due).toEqual([
        {
          id: `${hooked.batch.id}:${at(20).getTime()}`,
          batchId: hooked.batch.id,
          owner: 'alice',
          url: URL,
          event: 'batch.completed',
          attempt: 1,
          createdAt: at(20),
        },
      ]);
      expect((await h.jobs.getBatches([hooked.batch.id]))[0]).toMatchObject({ webhookUrl: URL, status: 'COMPLETED' });
    });

    it('names the terminal state in the event: failed, cancelled', async () => {
      const failing = buildBatch(2, { webhookUrl: URL });
      const cancelled = buildBatch(2, { webhookUrl: URL });
      await h.jobs.createBatch(failing.batch, failing.children);
      await h.jobs.createBatch(cancelled.batch, cancelled.children);
      await finishAll(
        h.jobs,
        failing.children.map((c) => c.id),
        10,
        'fail',
      );
      await h.jobs.cancelBatch('alice', cancelled.batch.id, at(20));
      const due = await h.webhooks.claimDue(at(30), LEASE_MS, 10);
      expect(due.map((d) => [d.batchId, d.event])).toEqual([
        [failing.batch.id, 'batch.failed'],
        [cancelled.batch.id, 'batch.cancelled'],
      ]);
    });

    it('hands a delivery to one claimer at a time, and to the next once the lease expired', async () => {
      const { batch, children } = buildBatch(1, { webhookUrl: URL });
      await h.jobs.createBatch(batch, children);
      await finishAll(h.jobs, [children[0]!.id], 10);
      const [first] = await h.webhooks.claimDue(at(20), LEASE_MS, 10);
      expect(first?.attempt).toBe(1);
      expect(await h.webhooks.claimDue(at(20 + LEASE_MS - 1), LEASE_MS, 10)).toEqual([]);
      const [second] = await h.webhooks.claimDue(at(20 + LEASE_MS), LEASE_MS, 10);
      expect(second).toMatchObject({ id: first!.id, attempt: 2 });
      // The first sender's late report is logged but no longer moves the delivery.
      expect(await h.webhooks.recordAttempt(attemptOf(first!, 30), { state: 'delivered' })).toBe(false);
      expect(await h.webhooks.recordAttempt(attemptOf(second!, 40), { state: 'waiting', at: at(100) })).toBe(true);
      expect((await h.webhooks.listAttempts([batch.id]))[0]!.map((a) => a.attempt)).toEqual([1, 2]);
    });

    it('retries a delivery at the time given, stops once delivered, and keeps the whole log in order', async () => {
      const { batch, children } = buildBatch(1, { webhookUrl: URL });
      await h.jobs.createBatch(batch, children);
      await finishAll(h.jobs, [children[0]!.id], 10);
      const [first] = await h.webhooks.claimDue(at(20), LEASE_MS, 10);
      const failed = attemptOf(first!, 25, { nextAttemptAt: at(500) });
      await h.webhooks.recordAttempt(failed, { state: 'waiting', at: at(500) });
      expect(await h.webhooks.claimDue(at(499), LEASE_MS, 10)).toEqual([]);
      const [second] = await h.webhooks.claimDue(at(500), LEASE_MS, 10);
      const delivered = attemptOf(second!, 510, { outcome: 'DELIVERED', responseStatus: 204, error: null });
      expect(await h.webhooks.recordAttempt(delivered, { state: 'delivered' })).toBe(true);
      expect(await h.webhooks.claimDue(at(10_000_000), LEASE_MS, 10)).toEqual([]);
      expect(await h.webhooks.listAttempts([batch.id, 'no-such-batch'])).toEqual([[failed, delivered], []]);
    });

    it('gives a delivery up for good', async () => {
      const { batch, children } = buildBatch(1, { webhookUrl: URL });
      await h.jobs.createBatch(batch, children);
      await finishAll(h.jobs, [children[0]!.id], 10);
      const [only] = await h.webhooks.claimDue(at(20), LEASE_MS, 10);
      expect(await h.webhooks.recordAttempt(attemptOf(only!, 30), { state: 'failed' })).toBe(true);
      expect(await h.webhooks.claimDue(at(10_000_000), LEASE_MS, 10)).toEqual([]);
    });

    it('records a second delivery when a retried batch ends again', async () => {
      const { batch, children } = buildBatch(2, { webhookUrl: URL });
      await h.jobs.createBatch(batch, children);
      await finishAll(h.jobs, [children[0]!.id], 10);
      await finishAll(h.jobs, [children[1]!.id], 20, 'fail');
      const [first] = await h.webhooks.claimDue(at(30), LEASE_MS, 10);
      await h.webhooks.recordAttempt(attemptOf(first!, 31, { outcome: 'DELIVERED', responseStatus: 200, error: null }), {
        state: 'delivered',
      });
      await h.jobs.retryFailed('alice', batch.id, at(40));
      const retried = (await h.jobs.getBatches([batch.id]))[0]!;
      const attempt = await claimOk(h.jobs, children[1]!.id, at(50));
      await h.jobs.complete(children[1]!.id, attempt, buildResult(), at(60));
      const again = await h.webhooks.claimDue(at(70), LEASE_MS, 10);
      expect(retried.status).toBe('RUNNING');
      expect(again).toEqual([
        expect.objectContaining({ id: `${batch.id}:${at(60).getTime()}`, event: 'batch.completed', attempt: 1 }),
      ]);
    });
  });
}
