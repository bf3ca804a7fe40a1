/**
 * The webhook outbox and its delivery log. The JobStore writes a waiting delivery in the
 * transaction that ends a batch with a webhook (see `JobStore.createBatch`); senders in any
 * number of api processes claim it here, one attempt at a time, and log every POST.
 */

export type WebhookEvent = 'batch.completed' | 'batch.failed' | 'batch.cancelled';

/** The event a batch's terminal status sends. */
export function webhookEventOf(status: string): WebhookEvent {
  return `batch.${status.toLowerCase()}` as WebhookEvent;
}

/** One terminal state of one batch, to be POSTed to its webhook. */
export interface WebhookDelivery {
  /** `<batchId>:<ms the batch ended>`: receivers de-duplicate on it (`X-OMTX-Delivery`). */
  id: string;
  batchId: string;
  owner: string;
  url: string;
  event: WebhookEvent;
  /** The attempt a claim hands out (1 for the first POST). */
  attempt: number;
  createdAt: Date;
}

/** One POST, as the delivery log shows it. */
export interface WebhookAttempt {
  deliveryId: string;
  batchId: string;
  event: WebhookEvent;
  attempt: number;
  outcome: 'DELIVERED' | 'FAILED';
  /** The receiver's HTTP status; null when none came (refused, timed out, unreachable). */
  responseStatus: number | null;
  error: string | null;
  at: Date;
  durationMs: number;
  /** When the next attempt is due; null when delivered or given up. */
  nextAttemptAt: Date | null;
}

/** What follows an attempt: done, another attempt at a time, or no more attempts. */
export type WebhookNext = { state: 'delivered' } | { state: 'waiting'; at: Date } | { state: 'failed' };

export interface WebhookStore {
  /**
   * Takes up to `limit` due deliveries for one attempt each, in one transaction: waiting ones
   * whose time has come and ones whose sender's lease (`leaseMs`) expired. Two callers never
   * get the same delivery while its lease lasts.
   */
  claimDue(now: Date, leaseMs: number, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Logs the attempt and, when it still holds the delivery (no later claim took it), moves
   * the delivery on to `next`. Returns whether it held it.
   */
  recordAttempt(attempt: WebhookAttempt, next: WebhookNext): Promise<boolean>;
  /** The delivery log of each batch, oldest first. */
  listAttempts(batchIds: readonly string[]): Promise<WebhookAttempt[][]>;
}
