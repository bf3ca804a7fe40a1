import { createHmac } from 'node:crypto';

/** The header that carries the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'X-OMTX-Signature';

/**
 * A user's webhook signing secret, derived from the server's (`OMTX_WEBHOOK_SECRET`, or the
 * data directory's `webhook.key`): the same for every batch of that user, shown to them as
 * `viewer.webhookSigningSecret`, changed for everyone by changing the server's.
 */
export function webhookSigningSecret(serverSecret: string, owner: string): string {
  return `whsec_${createHmac('sha256', serverSecret).update(`omtx-webhook-signing\0${owner}`).digest('hex')}`;
}

/**
 * The signature header's value for `body` sent at `timestampSeconds`: HMAC-SHA256, keyed
 * with the whole secret string (UTF-8), over `<timestamp>.<body>` (Stripe's scheme).
 */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${digest}`;
}
