import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { inject } from 'vitest';
import { startCloudTasksFake, type CloudTasksFake } from './cloud-tasks-fake.js';
import { deployQueueSettings } from './cloud-tasks/deploy-queue-settings.js';
import { writeThrowawayServiceAccountKey } from './service-account-key.js';

const LOCATION = 'europe-west4';

/** One Google Cloud "project" on the emulators, for `omtx serve` and `omtx worker` processes. */
export interface GcpTestBackend {
  projectId: string;
  /** What an api or a worker process needs to run with `OMTX_BACKEND=gcp` on the emulators. */
  env: Record<string, string>;
  tasks: CloudTasksFake;
  /** A client on the project, for a test to look at the documents directly. */
  firestore: Firestore;
  close(): Promise<void>;
}

export interface GcpTestBackendOptions {
  /** `host:port` of the Firestore emulator (or of a proxy before it). @default the run's shared emulator */
  firestoreHost?: string;
  /** Cloud Tasks' at-least-once delivery, made certain: every task POSTed twice at once. */
  deliverEveryTaskTwice?: boolean;
}

/**
 * A fresh project on the shared Firestore and storage emulators and a Cloud Tasks fake whose
 * queue has deploy/terraform/queue-settings.json's rate, concurrency and attempts. Only the
 * backoff is shortened (0.5 s instead of 10 s), so a test's retries take seconds.
 */
export async function startGcpTestBackend(options: GcpTestBackendOptions = {}): Promise<GcpTestBackend> {
  const projectId = `omtx-${randomUUID().slice(0, 8)}`;
  const firestoreHost = options.firestoreHost ?? inject('firestoreEmulatorHost');
  const queue = { ...deployQueueSettings(projectId, LOCATION), minBackoffMs: 500, maxBackoffMs: 2_000 };
  const tasks = await startCloudTasksFake({ queues: [queue], deliverEveryTaskTwice: options.deliverEveryTaskTwice ?? false });
  const keyDir = mkdtempSync(join(tmpdir(), 'omtx-gcp-key-'));
  const key = writeThrowawayServiceAccountKey(keyDir, projectId);
  const firestore = new Firestore({ projectId, host: firestoreHost, ssl: false });
  return {
    projectId,
    tasks,
    firestore,
    env: {
      OMTX_BACKEND: 'gcp',
      OMTX_GCP_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      STORAGE_EMULATOR_HOST: inject('storageEmulatorHost'),
      OMTX_GCS_BUCKET: `${projectId}-artifacts`,
      OMTX_GCS_SIGNING_KEY_FILE: key.path,
      OMTX_TASKS_EMULATOR_HOST: tasks.host,
      OMTX_TASKS_LOCATION: LOCATION,
      OMTX_TASKS_QUEUE: queue.queueName.slice(queue.queueName.lastIndexOf('/') + 1),
      OMTX_WEBHOOK_SECRET: 'a-webhook-secret-every-instance-shares',
    },
    async close() {
      await tasks.stop();
      await firestore.terminate();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
