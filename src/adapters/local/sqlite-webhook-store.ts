import type { SqliteDatabase } from './sqlite/database.js';
import { migrateWebhookSchema } from './sqlite/webhook-schema.js';
import type { WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookNext, WebhookStore } from '../../ports/webhook-store.js';

interface DeliveryRow {
  id: string;
  batch_id: string;
  owner: string;
  url: string;
  event: string;
  attempts: number;
  created_at_ms: number;
}

interface AttemptRow {
  delivery_id: string;
  batch_id: string;
  attempt: number;
  event: string;
  outcome: 'DELIVERED' | 'FAILED';
  response_status: number | null;
  error: string | null;
  at_ms: number;
  duration_ms: number;
  next_attempt_at_ms: number | null;
}

/**
 * The embedded WebhookStore, on the JobStore's SQLite file (the JobStore writes the outbox
 * rows). Claims run in IMMEDIATE transactions, so api processes sharing the file never both
 * take one delivery.
 */
export class SqliteWebhookStore implements WebhookStore {
  private readonly selectDue;
  private readonly markSending;
  private readonly insertAttempt;
  private readonly moveOn;

  constructor(private readonly db: SqliteDatabase) {
    migrateWebhookSchema(db);
    this.selectDue = db.prepare<[number, number], DeliveryRow>(
      `SELECT id, batch_id, owner, url, event, attempts, created_at_ms FROM webhook_deliveries
       WHERE due_at_ms IS NOT NULL AND due_at_ms <= ? ORDER BY due_at_ms LIMIT ?`,
    );
    this.markSending = db.prepare<[number, string]>(
      `UPDATE webhook_deliveries SET state = 'sending', attempts = attempts + 1, due_at_ms = ? WHERE id = ?`,
    );
    this.insertAttempt = db.prepare(
      `INSERT OR IGNORE INTO webhook_attempts (delivery_id, batch_id, attempt, event, outcome, response_status, error, at_ms,
         duration_ms, next_attempt_at_ms)
       VALUES (@delivery_id, @batch_id, @attempt, @event, @outcome, @response_status, @error, @at_ms, @duration_ms,
         @next_attempt_at_ms)`,
    );
    this.moveOn = db.prepare<[string, number | null, number | null, string, number]>(
      `UPDATE webhook_deliveries SET state = ?, due_at_ms = ?, finished_at_ms = ?
       WHERE id = ? AND state = 'sending' AND attempts = ?`,
    );
  }

  async claimDue(now: Date, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    return this.db
      .transaction(() =>
        this.selectDue.all(now.getTime(), limit).map((row) => {
          this.markSending.run(now.getTime() + leaseMs, row.id);
          return {
            id: row.id,
            batchId: row.batch_id,
            owner: row.owner,
            url: row.url,
            event: row.event as WebhookEvent,
            attempt: row.attempts + 1,
            createdAt: new Date(row.created_at_ms),
          };
        }),
      )
      .immediate();
  }

  async recordAttempt(attempt: WebhookAttempt, next: WebhookNext): Promise<boolean> {
    return this.db
      .transaction(() => {
        this.insertAttempt.run({
          delivery_id: attempt.deliveryId,
          batch_id: attempt.batchId,
          attempt: attempt.attempt,
          event: attempt.event,
          outcome: attempt.outcome,
          response_status: attempt.responseStatus,
          error: attempt.error,
          at_ms: attempt.at.getTime(),
          duration_ms: Math.round(attempt.durationMs),
          next_attempt_at_ms: attempt.nextAttemptAt?.getTime() ?? null,
        });
        const due = next.state === 'waiting' ? next.at.getTime() : null;
        const finished = next.state === 'waiting' ? null : attempt.at.getTime();
        return this.moveOn.run(next.state, due, finished, attempt.deliveryId, attempt.attempt).changes === 1;
      })
      .immediate();
  }

  async listAttempts(batchIds: readonly string[]): Promise<WebhookAttempt[][]> {
    if (batchIds.length === 0) return [];
    const rows = this.db
      .prepare<unknown[], AttemptRow>(
        `SELECT * FROM webhook_attempts WHERE batch_id IN (${batchIds.map(() => '?').join(', ')})
         ORDER BY batch_id, at_ms, attempt`,
      )
      .all(...batchIds);
    const byBatch = new Map<string, WebhookAttempt[]>(batchIds.map((id) => [id, []]));
    for (const row of rows) byBatch.get(row.batch_id)?.push(attemptFromRow(row));
    return batchIds.map((id) => byBatch.get(id)!);
  }
}

function attemptFromRow(r: AttemptRow): WebhookAttempt {
  return {
    deliveryId: r.delivery_id,
    batchId: r.batch_id,
    event: r.event as WebhookEvent,
    attempt: r.attempt,
    outcome: r.outcome,
    responseStatus: r.response_status,
    error: r.error,
    at: new Date(r.at_ms),
    durationMs: r.duration_ms,
    nextAttemptAt: r.next_attempt_at_ms === null ? null : new Date(r.next_attempt_at_ms),
  };
}
