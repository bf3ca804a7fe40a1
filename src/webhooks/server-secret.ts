import { dataDirSecret } from '../adapters/local/data-dir-secret.js';

/**
 * The server secret webhook signing secrets derive from: `configured` when set, else a random
 * key made once per data directory (`webhook.key`), like the key that signs artifact URLs.
 * Every api process on the directory reads the same one.
 */
export function webhookServerSecret(dataDir: string, configured: string | null): string {
  return configured ?? dataDirSecret(dataDir, 'webhook.key');
}
