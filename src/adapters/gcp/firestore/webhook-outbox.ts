import { Timestamp, type Firestore, type Transaction } from '@google-cloud/firestore';
// The event name is one rule for both backends; it lives beside the SQLite outbox today.
import { webhookEventOf } from '../../../ports/webhook-store.js';

/**
 * The webhook outbox in Firestore, the layout of the SQLite one (`webhook-schema.ts`):
 *
 * `webhook_deliveries/{batchId}:{endedAtMs}` — one document per terminal state a batch with a
 * webhook reached: `batch_id`, `owner`, `url`, `event`, `state` (`waiting|sending|delivered|failed`),
 * `attempts`, `due_at`, `created_at`, `finished_at`. `due_at` is when a sender must look at it
 * next (the retry time while waiting, the lease expiry while sending, null once finished), so
 * one range query on its single-field index finds the due ones; null never matches a range.
 *
 * `webhook_attempts/{deliveryId}:{attempt}` — the delivery log, one document per POST.
 */
export const WEBHOOK_DELIVERIES = 'webhook_deliveries';
export const WEBHOOK_ATTEMPTS = 'webhook_attempts';

/** The stored shape of a delivery. */
export interface DeliveryDoc {
  batch_id: string;
  owner: string;
  url: string;
  event: string;
  state: 'waiting' | 'sending' | 'delivered' | 'failed';
  attempts: number;
  due_at: Timestamp | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

/**
 * Records, inside the JobStore's transaction (after its reads), that a batch with a webhook
 * ended at `endedAtMs`: one waiting delivery, due at once.
 *
 * Why `tx.set` and not `tx.create`: `create` on an existing document fails the whole
 * transaction with ALREADY_EXISTS, which the SDK does not retry, so the child's completion
 * would be lost with it. The id is the batch and the ending, and the content depends on
 * nothing else, so writing it twice for one ending writes the same document. It never
 * overwrites a delivery already under way in practice: a Firestore transaction that is
 * retried committed nothing the first time, and a committed ending made the batch terminal,
 * which the JobStore read in the same transaction, so it does not call this again for it.
 */
export function enqueueWebhookDelivery(
  tx: Transaction,
  db: Firestore,
  batch: { id: string; owner: string; webhookUrl: string; status: string },
  endedAtMs: number,
): void {
  const endedAt = Timestamp.fromMillis(endedAtMs);
  const doc: DeliveryDoc = {
    batch_id: batch.id,
    owner: batch.owner,
    url: batch.webhookUrl,
    event: webhookEventOf(batch.status),
    state: 'waiting',
    attempts: 0,
    due_at: endedAt,
    created_at: endedAt,
    finished_at: null,
  };
  tx.set(db.collection(WEBHOOK_DELIVERIES).doc(`${batch.id}:${endedAtMs}`), doc);
}
