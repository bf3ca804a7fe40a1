import DataLoader from 'dataloader';
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Batch } from '../src/domain/job.js';
import type { WebhookAttempt } from '../src/ports/webhook-store.js';
import type { Context } from './context.js';
import { BatchType } from './types/batch.type.js';
import { ViewerType } from './types/model.type.js';
import { WebhookAttemptOutcome, WebhookDeliveryType } from './types/webhook.type.js';

/** One delivery-log loader per request (keyed by its context), so a page of batches reads the log once. */
const attemptLoaders = new WeakMap<Context, DataLoader<string, WebhookAttempt[]>>();

function attemptsOf(ctx: Context, batchId: string): Promise<WebhookAttempt[]> {
  let loader = attemptLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((ids) => ctx.app.webhooks.listAttempts(ids), { maxBatchSize: 500 });
    attemptLoaders.set(ctx, loader);
  }
  return loader.load(batchId);
}

/** The webhook of a batch is its owner's: organization members who may read the batch do not see it. */
@Resolver((_of) => BatchType)
export class BatchWebhookResolver {
  @FieldResolver((_returns) => String, {
    nullable: true,
    description: "Where the batch's terminal state is POSTed; null for none (and for anyone but its owner).",
  })
  webhookUrl(@Root() batch: Batch, @Ctx() ctx: Context): string | null {
    return batch.owner === ctx.viewer.id ? batch.webhookUrl : null;
  }

  @FieldResolver((_returns) => [WebhookDeliveryType], {
    description: "Every POST of the batch's webhook, oldest first (empty for anyone but its owner).",
  })
  async webhookDeliveries(@Root() batch: Batch, @Ctx() ctx: Context): Promise<WebhookDeliveryType[]> {
    if (batch.owner !== ctx.viewer.id || batch.webhookUrl === null) return [];
    const attempts = await attemptsOf(ctx, batch.id);
    return attempts.map((a) => ({
      deliveryId: a.deliveryId,
      event: a.event,
      attempt: a.attempt,
      status: a.outcome === 'DELIVERED' ? WebhookAttemptOutcome.DELIVERED : WebhookAttemptOutcome.FAILED,
      responseStatus: a.responseStatus,
      error: a.error,
      at: a.at,
      durationMs: a.durationMs,
      nextAttemptAt: a.nextAttemptAt,
    }));
  }
}

@Resolver((_of) => ViewerType)
export class ViewerWebhookResolver {
  @FieldResolver((_returns) => String, {
    description:
      'The secret your batch webhooks are signed with: X-OMTX-Signature is t=<unix seconds>,v1=<hex HMAC-SHA256 keyed with ' +
      'this whole string, over "<t>.<raw body>". The same for all your batches.',
  })
  webhookSigningSecret(@Ctx() ctx: Context): string {
    return ctx.app.webhookSigningSecret(ctx.viewer.id);
  }
}
