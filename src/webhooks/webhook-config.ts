import { z } from 'zod';
import type { WebhookSettings } from './dispatcher.js';

/** Webhook settings, spread into the configuration schema (`src/config.ts`). */
export const webhookEnv = {
  /** The server secret users' signing secrets derive from; unset: `webhook.key`, made once in the data directory. */
  OMTX_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Let webhooks reach private, loopback and link-local addresses (tests, a lab's own network). */
  OMTX_WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** POSTs per delivery before it is given up. */
  OMTX_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** Wait after the first failed attempt; it doubles after each, up to OMTX_WEBHOOK_BACKOFF_MAX_SECONDS. */
  OMTX_WEBHOOK_BACKOFF_SECONDS: z.coerce.number().min(0.001).max(86_400).default(30),
  OMTX_WEBHOOK_BACKOFF_MAX_SECONDS: z.coerce
    .number()
    .min(0.001)
    .max(7 * 86_400)
    .default(3_600),
  /** One POST's deadline. */
  OMTX_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(300).default(10),
  /** How often the api looks for due deliveries. */
  OMTX_WEBHOOK_POLL_SECONDS: z.coerce.number().min(0.01).max(3_600).default(1),
};

type WebhookEnv = z.infer<z.ZodObject<typeof webhookEnv>>;

export interface WebhookConfig extends WebhookSettings {
  /** null: the data directory's `webhook.key`. */
  secret: string | null;
  pollIntervalMs: number;
}

export function webhookConfigFrom(c: WebhookEnv): WebhookConfig {
  return {
    secret: c.OMTX_WEBHOOK_SECRET ?? null,
    allowPrivate: c.OMTX_WEBHOOK_ALLOW_PRIVATE,
    maxAttempts: c.OMTX_WEBHOOK_MAX_ATTEMPTS,
    backoffBaseMs: c.OMTX_WEBHOOK_BACKOFF_SECONDS * 1000,
    backoffMaxMs: c.OMTX_WEBHOOK_BACKOFF_MAX_SECONDS * 1000,
    timeoutMs: c.OMTX_WEBHOOK_TIMEOUT_SECONDS * 1000,
    pollIntervalMs: c.OMTX_WEBHOOK_POLL_SECONDS * 1000,
  };
}
