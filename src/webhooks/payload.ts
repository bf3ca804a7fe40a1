import type { Batch } from '../domain/job.js';
import { batchProgress } from '../services/progress.js';
import type { WebhookEvent } from '../ports/webhook-store.js';

/** The JSON body of a webhook POST. */
export interface WebhookBody {
  /** The delivery's id: the same on every retry, so a receiver can drop duplicates. */
  id: string;
  event: WebhookEvent;
  batch: {
    id: string;
    name: string;
    model: string;
    status: string;
    progress: {
      total: number;
      pending: number;
      queued: number;
      running: number;
      completed: number;
      failed: number;
      cancelled: number;
      percent: number;
    };
    usage: { runtimeSeconds: number; gpuSeconds: number; costUsd: number };
    createdAt: string;
    completedAt: string | null;
  };
  deliveredAt: string;
}

/** The body for one attempt: the batch as it is now (its counters and usage), the attempt's time. */
export function webhookBody(deliveryId: string, event: WebhookEvent, batch: Batch, now: Date): WebhookBody {
  const { etaSeconds: _eta, ...progress } = batchProgress(batch, now);
  return {
    id: deliveryId,
    event,
    batch: {
      id: batch.id,
      name: batch.name,
      model: batch.model,
      status: batch.status,
      progress,
      usage: {
        runtimeSeconds: batch.usage.runtimeMs / 1000,
        gpuSeconds: batch.usage.gpuMs / 1000,
        costUsd: batch.usage.costNanoUsd / 1e9,
      },
      createdAt: batch.createdAt.toISOString(),
      completedAt: batch.completedAt?.toISOString() ?? null,
    },
    deliveredAt: now.toISOString(),
  };
}
