import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookNext, WebhookStore } from '../../ports/webhook-store.js';
import { WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, type DeliveryDoc } from './firestore/webhook-outbox.js';

/** Values one `in` filter takes (Firestore's limit). @default 30 // values */
const IN_LIMIT = 30;

/** The stored shape of one POST in the delivery log. */
interface AttemptDoc {
  delivery_id: string;
  batch_id: string;
  attempt: number;
  event: string;
  outcome: 'DELIVERED' | 'FAILED';
  response_status: number | null;
  error: string | null;
  at: Timestamp;
  duration_ms: number;
  next_attempt_at: Timestamp | null;
}

/**
 * The WebhookStore on Firestore; the FirestoreJobStore writes the outbox documents
 * (`enqueueWebhookDelivery`). Claims query the due deliveries inside a transaction, which
 * locks what it read: two api processes claiming at once conflict, one commits, the other is
 * retried by the SDK and re-reads them with the lease already set, so it skips them.
 */
export class FirestoreWebhookStore implements WebhookStore {
  constructor(private readonly db: Firestore) {}

  async claimDue(now: Date, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    const due = this.db
      .collection(WEBHOOK_DELIVERIES)
      .where('due_at', '<=', Timestamp.fromDate(now))
      .orderBy('due_at')
      .limit(limit);
    const leaseEnd = Timestamp.fromMillis(now.getTime() + leaseMs);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(due);
      return snap.docs.map((doc) => {
        const d = doc.data() as DeliveryDoc;
        tx.update(doc.ref, { state: 'sending', attempts: d.attempts + 1, due_at: leaseEnd });
        return {
          id: doc.id,
          batchId: d.batch_id,
          owner: d.owner,
          url: d.url,
          event: d.event as WebhookEvent,
          attempt: d.attempts + 1,
          createdAt: d.created_at.toDate(),
        };
      });
    });
  }

  async recordAttempt(attempt: WebhookAttempt, next: WebhookNext): Promise<boolean> {
    const deliveryRef = this.db.collection(WEBHOOK_DELIVERIES).doc(attempt.deliveryId);
    const logRef = this.db.collection(WEBHOOK_ATTEMPTS).doc(`${attempt.deliveryId}:${attempt.attempt}`);
    return this.db.runTransaction(async (tx) => {
      const [delivery, logged] = await tx.getAll(deliveryRef, logRef);
      // The first report of an attempt is the one kept, as in the embedded store.
      if (!logged!.exists) tx.create(logRef, toAttemptDoc(attempt));
      const d = delivery!.data() as DeliveryDoc | undefined;
      // A later claim bumped `attempts`: this sender's lease is gone, and so is its say.
      const holds = d?.state === 'sending' && d.attempts === attempt.attempt;
      if (holds) {
        tx.update(deliveryRef, {
          state: next.state,
          due_at: next.state === 'waiting' ? Timestamp.fromDate(next.at) : null,
          finished_at: next.state === 'waiting' ? null : Timestamp.fromDate(attempt.at),
        });
      }
      return holds;
    });
  }

  async listAttempts(batchIds: readonly string[]): Promise<WebhookAttempt[][]> {
    const byBatch = new Map<string, WebhookAttempt[]>(batchIds.map((id) => [id, []]));
    const unique = [...byBatch.keys()];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += IN_LIMIT) chunks.push(unique.slice(i, i + IN_LIMIT));
    // Equality only, so no composite index: a batch's log is a few attempts per ending,
    // ordered here rather than by an index.
    const snaps = await Promise.all(chunks.map((ids) => this.db.collection(WEBHOOK_ATTEMPTS).where('batch_id', 'in', ids).get()));
    for (const doc of snaps.flatMap((s) => s.docs)) {
      const a = fromAttemptDoc(doc.data() as AttemptDoc);
      byBatch.get(a.batchId)!.push(a);
    }
    for (const log of byBatch.values()) log.sort((x, y) => x.at.getTime() - y.at.getTime() || x.attempt - y.attempt);
    return batchIds.map((id) => byBatch.get(id)!);
  }
}

function toAttemptDoc(a: WebhookAttempt): AttemptDoc {
  return {
    delivery_id: a.deliveryId,
    batch_id: a.batchId,
    attempt: a.attempt,
    event: a.event,
    outcome: a.outcome,
    response_status: a.responseStatus,
    error: a.error,
    at: Timestamp.fromDate(a.at),
    duration_ms: Math.round(a.durationMs),
    next_attempt_at: a.nextAttemptAt === null ? null : Timestamp.fromDate(a.nextAttemptAt),
  };
}

function fromAttemptDoc(d: AttemptDoc): WebhookAttempt {
  return {
    deliveryId: d.delivery_id,
    batchId: d.batch_id,
    event: d.event as WebhookEvent,
    attempt: d.attempt,
    outcome: d.outcome,
    responseStatus: d.response_status,
    error: d.error,
    at: d.at.toDate(),
    durationMs: d.duration_ms,
    nextAttemptAt: d.next_attempt_at === null ? null : d.next_attempt_at.toDate(),
  };
}
