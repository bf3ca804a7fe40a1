import type { JobStore } from '../ports/job-store.js';
import type { WebhookDelivery, WebhookNext, WebhookStore } from '../ports/webhook-store.js';
import { webhookBody } from './payload.js';
import { postWebhook, type PostWebhook } from './sender.js';
import { SIGNATURE_HEADER, signWebhook } from './signing.js';
import type { BlockedResolution } from './url-policy.js';

export interface WebhookSettings {
  /** POSTs per delivery before it is given up. @default 10 */
  maxAttempts: number;
  /** The wait after the first failed attempt; it doubles after each. @default 30_000 // 30 seconds */
  backoffBaseMs: number;
  /** The longest wait between attempts. @default 3_600_000 // 1 hour */
  backoffMaxMs: number;
  /** One POST's deadline. @default 10_000 // 10 seconds */
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface WebhookDeps {
  jobs: JobStore;
  webhooks: WebhookStore;
  clock: () => Date;
  /** The signing secret of a batch's owner. */
  secretFor: (owner: string) => string;
  settings: WebhookSettings;
  post?: PostWebhook;
  /** Told the private address a receiver's name resolved to at connect time (for the operator's log). */
  onBlocked?: (blocked: BlockedResolution) => void;
}

/** Deliveries one sweep takes at once. @default 20 */
const SWEEP_LIMIT = 20;

/**
 * The wait before attempt `attempt + 1`: `backoffBaseMs × 2^(attempt − 1)`, capped, with up to
 * 10 % taken off at random so that a receiver that came back is not hit by every retry at once.
 */
export function backoffMs(attempt: number, settings: Pick<WebhookSettings, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const full = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full * (1 - Math.random() * 0.1));
}

/**
 * Sends every due webhook once: claims them (any number of api processes may sweep at once;
 * a claim is exclusive while its lease lasts), POSTs each signed body, and logs the attempt
 * with what follows: delivered on a 2xx, another attempt after a backoff, or given up after
 * `maxAttempts`. Returns the number of POSTs made.
 */
export async function deliverDueWebhooks(deps: WebhookDeps): Promise<number> {
  const leaseMs = deps.settings.timeoutMs + 30_000;
  const due = await deps.webhooks.claimDue(deps.clock(), leaseMs, SWEEP_LIMIT);
  await Promise.all(due.map((delivery) => deliverOne(deps, delivery)));
  return due.length;
}

async function deliverOne(deps: WebhookDeps, delivery: WebhookDelivery): Promise<void> {
  const { settings } = deps;
  const [batch] = await deps.jobs.getBatches([delivery.batchId]);
  const now = deps.clock();
  let status: number | null = null;
  let error: string | null;
  let durationMs = 0;
  if (!batch) {
    error = `batch ${delivery.batchId} no longer exists`;
  } else {
    const body = JSON.stringify(webhookBody(delivery.id, delivery.event, batch, now));
    const timestamp = Math.floor(now.getTime() / 1000);
    const outcome = await (deps.post ?? postWebhook)(
      delivery.url,
      body,
      {
        'content-type': 'application/json',
        'user-agent': 'OMTX-Hub-Webhooks/1',
        [SIGNATURE_HEADER]: signWebhook(deps.secretFor(delivery.owner), timestamp, body),
        'X-OMTX-Event': delivery.event,
        'X-OMTX-Delivery': delivery.id,
        'X-OMTX-Attempt': String(delivery.attempt),
      },
      {
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivate,
        onBlocked: deps.onBlocked,
      },
    );
    ({ status, error, durationMs } = outcome);
  }
  const delivered = error === null && status !== null && status >= 200 && status < 300;
  const giveUp = !batch || delivery.attempt >= settings.maxAttempts;
  const next: WebhookNext = delivered
    ? { state: 'delivered' }
    : giveUp
      ? { state: 'failed' }
      : { state: 'waiting', at: new Date(deps.clock().getTime() + backoffMs(delivery.attempt, settings)) };
  await deps.webhooks.recordAttempt(
    {
      deliveryId: delivery.id,
      batchId: delivery.batchId,
      event: delivery.event,
      attempt: delivery.attempt,
      outcome: delivered ? 'DELIVERED' : 'FAILED',
      responseStatus: status,
      error: delivered ? null : (error ?? `the receiver answered HTTP ${status}`),
      at: now,
      durationMs,
      nextAttemptAt: next.state === 'waiting' ? next.at : null,
    },
    next,
  );
}

/**
 * Sweeps for due webhooks every `intervalMs` (and at once when `poke` is called, e.g. after
 * a commit) until the returned stop function is called; a stop waits for the sweep in flight.
 */
export function startWebhookDispatcher(
  deps: WebhookDeps,
  { intervalMs }: { intervalMs: number },
  onError: (error: unknown) => void,
): { poke: () => void; stop: () => Promise<void> } {
  let running: Promise<unknown> | null = null;
  let again = false;
  let stopped = false;
  const sweep = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = deliverDueWebhooks(deps)
      .catch(onError)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          sweep();
        }
      });
  };
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    poke: sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}
