import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The server secret webhook signing secrets derive from: `configured` when set, else a random
 * key made once per data directory (`webhook.key`, mode 0600) and kept there, like the key
 * that signs artifact URLs. Every api process on the directory reads the same one.
 */
export function webhookServerSecret(dataDir: string, configured: string | null): string {
  if (configured !== null) return configured;
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'webhook.key');
  if (!existsSync(path)) {
    try {
      // 'wx' fails when another process made the key first; then that key is the one to use.
      writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return readFileSync(path, 'utf8').trim();
}
