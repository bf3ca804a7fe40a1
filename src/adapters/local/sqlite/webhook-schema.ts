import type { SqliteDatabase } from './database.js';
import { webhookEventOf } from '../../../ports/webhook-store.js';

/**
 * The webhook outbox of the embedded store.
 *
 * `webhook_deliveries` holds one row per terminal state a batch with a webhook reached. The
 * JobStore inserts it in the same transaction that makes the batch terminal (the outbox
 * pattern), keyed by the batch and the moment it ended, so however many processes commit
 * children, the row exists once, and a crash cannot lose it. Senders claim due rows in a
 * transaction (`state = 'sending'` with a lease), so two api processes never send one
 * delivery at once; a sender that died leaves a lease that expires and the row is taken again.
 *
 * `due_at_ms` is when a sender must look at the row next (the retry time while waiting, the
 * lease expiry while sending, NULL once finished): one partial index serves the due scan.
 * `webhook_attempts` is the delivery log, one row per POST.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id             TEXT    PRIMARY KEY,
  batch_id       TEXT    NOT NULL,
  owner          TEXT    NOT NULL,
  url            TEXT    NOT NULL,
  event          TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('waiting', 'sending', 'delivered', 'failed')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  due_at_ms      INTEGER,
  created_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (due_at_ms) WHERE due_at_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_batch ON webhook_deliveries (batch_id, created_at_ms);

CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id     TEXT    NOT NULL,
  batch_id        TEXT    NOT NULL,
  attempt         INTEGER NOT NULL,
  event           TEXT    NOT NULL,
  outcome         TEXT    NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED')),
  response_status INTEGER,
  error           TEXT,
  at_ms           INTEGER NOT NULL,
  duration_ms     INTEGER NOT NULL,
  next_attempt_at_ms INTEGER,
  PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX IF NOT EXISTS webhook_attempts_by_batch ON webhook_attempts (batch_id, at_ms);
`;

/** Creates the webhook tables if missing; safe on every start and beside the other stores. */
export function migrateWebhookSchema(db: SqliteDatabase): void {
  db.exec(DDL);
}

/**
 * Records, inside the caller's transaction, that a batch with a webhook ended at `endedAtMs`
 * (run it with `enqueueWebhookParams`). A second run for the same ending is a no-op: the id
 * is the batch and the ending.
 */
export const ENQUEUE_WEBHOOK_DELIVERY = `INSERT OR IGNORE INTO webhook_deliveries
  (id, batch_id, owner, url, event, state, attempts, due_at_ms, created_at_ms)
  VALUES (?, ?, ?, ?, ?, 'waiting', 0, ?, ?)`;

export function enqueueWebhookParams(
  batch: { id: string; owner: string; webhookUrl: string; status: string },
  endedAtMs: number,
): unknown[] {
  return [
    `${batch.id}:${endedAtMs}`,
    batch.id,
    batch.owner,
    batch.webhookUrl,
    webhookEventOf(batch.status),
    endedAtMs,
    endedAtMs,
  ];
}
