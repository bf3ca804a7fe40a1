/**
 * Starts what `OMTX_BACKEND=gcp` needs, offline: Google's Firestore emulator, firebase-tools'
 * storage emulator and the Cloud Tasks fake (the deployed queue's settings), then prints the
 * environment to run OMTX-Hub on them and waits until Ctrl-C:
 *
 *   npx tsx scripts/gcp-emulators.ts
 *   # in another terminal, paste the printed `export` line, then:
 *   ./omtx serve          # the api and its worker on Firestore, the bucket and Cloud Tasks
 *
 * For trying the Google Cloud adapters by hand; the tests start their own (test/support/emulators).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFirestoreEmulator } from '../test/support/emulators/firestore-emulator.js';
import { startStorageEmulator } from '../test/support/emulators/storage-emulator.js';
import { startCloudTasksFake } from '../test/support/emulators/cloud-tasks-fake.js';
import { deployQueueSettings } from '../test/support/emulators/cloud-tasks/deploy-queue-settings.js';
import { writeThrowawayServiceAccountKey } from '../test/support/emulators/service-account-key.js';

const PROJECT = 'omtx-local';
const LOCATION = 'europe-west4';

const keyDir = mkdtempSync(join(tmpdir(), 'omtx-gcp-emulators-'));
const [firestore, storage] = await Promise.all([startFirestoreEmulator(), startStorageEmulator()]);
const queue = deployQueueSettings(PROJECT, LOCATION);
const tasks = await startCloudTasksFake({ queues: [queue] });
const env = {
  OMTX_BACKEND: 'gcp',
  OMTX_GCP_PROJECT: PROJECT,
  FIRESTORE_EMULATOR_HOST: firestore.host,
  STORAGE_EMULATOR_HOST: storage.url,
  OMTX_GCS_BUCKET: `${PROJECT}-artifacts`,
  OMTX_GCS_SIGNING_KEY_FILE: writeThrowawayServiceAccountKey(keyDir, PROJECT).path,
  OMTX_TASKS_EMULATOR_HOST: tasks.host,
  OMTX_TASKS_LOCATION: LOCATION,
  OMTX_TASKS_QUEUE: queue.queueName.slice(queue.queueName.lastIndexOf('/') + 1),
  OMTX_WEBHOOK_SECRET: 'a-local-webhook-secret-for-the-emulators',
};
console.log(
  `export ${Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`,
);
console.error('Firestore, storage and Cloud Tasks emulators are running (in memory); Ctrl-C stops them.');

const stop = async () => {
  await Promise.all([tasks.stop(), storage.stop(), firestore.stop()]);
  rmSync(keyDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
