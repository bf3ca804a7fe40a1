import type { JobStore } from '../../src/ports/job-store.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import { openLocalAdapters } from '../../src/adapters/local/open-local-adapters.js';
import { createFirestoreClient } from '../../src/adapters/gcp/firestore-client.js';
import { FirestoreJobStore } from '../../src/adapters/gcp/firestore-job-store.js';
import { GcsBlobStore, createStorageClient } from '../../src/adapters/gcp/gcs-blob-store.js';
import type { WorkerConfig } from './worker-config.js';

/** What the worker reads and writes: jobs and their artifacts, nothing else. */
export interface WorkerAdapters {
  jobs: JobStore;
  blobs: BlobStore;
  close(): Promise<void>;
}

/**
 * The worker's adapters as `OMTX_BACKEND` picks them: the api's data directory on the
 * embedded default, Firestore and the artifact bucket on Google Cloud (the L4 service).
 * `onStoreError` hears of background repairs that failed (Firestore; the sweep retries them).
 */
export function openWorkerAdapters(config: WorkerConfig, onStoreError: (error: unknown, during: string) => void): WorkerAdapters {
  if (config.gcp !== null) {
    const db = createFirestoreClient(config.gcp);
    const jobs = new FirestoreJobStore(db, { onError: onStoreError });
    return {
      jobs,
      blobs: new GcsBlobStore(createStorageClient(config.gcp), config.gcp.bucket),
      async close() {
        await jobs.close();
        await db.terminate();
      },
    };
  }
  const { jobs, blobs, feed } = openLocalAdapters(config.dataDir, 'http://unused.invalid');
  return {
    jobs,
    blobs,
    async close() {
      await feed.close();
      await jobs.close();
    },
  };
}
