import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a service-account key file with a fresh RSA key, as `OMTX_GCS_SIGNING_KEY_FILE`
 * takes it. The storage emulator checks no signature, so this throwaway key signs the URLs
 * in tests; a test that checks signatures verifies them with `publicKey` itself.
 */
export function writeThrowawayServiceAccountKey(
  dir: string,
  projectId: string,
  clientEmail = `omtx-api@${projectId}.iam.gserviceaccount.com`,
): { path: string; publicKey: string; clientEmail: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const path = join(dir, 'service-account-key.json');
  const key = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'k1',
    private_key: privateKey,
    client_email: clientEmail,
  };
  writeFileSync(path, JSON.stringify(key));
  return { path, publicKey, clientEmail };
}
