import { createFirestoreClient } from './firestore-client.js';
import type { GcpConfig } from './gcp-config.js';
import { FirestoreJobStore } from './firestore-job-store.js';
import { FirestoreChangeFeed } from './firestore-change-feed.js';
import { FirestoreApiKeyStore } from './firestore-api-key-store.js';
import { FirestoreWebhookStore } from './firestore-webhook-store.js';
import { GcsBlobStore, createStorageClient } from './gcs-blob-store.js';

/** The Google Cloud adapters of one process, on one Firestore client and one bucket. */
export interface GcpAdapters {
  jobs: FirestoreJobStore;
  feed: FirestoreChangeFeed;
  blobs: GcsBlobStore;
  apiKeyStore: FirestoreApiKeyStore;
  webhooks: FirestoreWebhookStore;
  close(): Promise<void>;
}

/**
 * `onStoreError` hears of repairs that failed in the background (a batch's finalize after its
 * child committed, a sweep step): the sweep retries them, so they are logged, not thrown.
 */
export function openGcpAdapters(gcp: GcpConfig, onStoreError: (error: unknown, during: string) => void): GcpAdapters {
  const db = createFirestoreClient(gcp);
  const jobs = new FirestoreJobStore(db, { onError: onStoreError });
  const feed = new FirestoreChangeFeed(db);
  return {
    jobs,
    feed,
    blobs: new GcsBlobStore(createStorageClient(gcp), gcp.bucket),
    apiKeyStore: new FirestoreApiKeyStore(db),
    webhooks: new FirestoreWebhookStore(db),
    async close() {
      await feed.close();
      await jobs.close();
      await db.terminate();
    },
  };
}
