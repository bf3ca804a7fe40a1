import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { JobStore } from '../ports/job-store.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ChangeFeed } from '../ports/change-feed.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { ApiKeyStore } from '../ports/api-key-store.js';
import type { WebhookStore } from '../ports/webhook-store.js';
import type { SignedArtifactSource } from '../server/artifact-route.js';
import { openGcpAdapters } from './gcp/open-gcp-adapters.js';
import { cloudTasksQueueFrom } from './gcp/cloud-tasks-queue.js';
import { openLocalAdapters } from './local/open-local-adapters.js';
import { SqliteTaskQueue } from './local/sqlite-task-queue.js';
import { SqliteApiKeyStore } from './local/sqlite-api-key-store.js';
import { SqliteWebhookStore } from './local/sqlite-webhook-store.js';

/** The api's adapters of every port, as `OMTX_BACKEND` picks them; nothing above differs. */
export interface ApiAdapters {
  jobs: JobStore;
  feed: ChangeFeed;
  blobs: BlobStore;
  queue: TaskQueue;
  apiKeyStore: ApiKeyStore;
  webhooks: WebhookStore;
  /** The filesystem store's signed URLs point at the api's `/artifacts` route; GCS serves its own (null). */
  artifactSource: SignedArtifactSource | null;
  /** The base of artifact URLs, once the server knows its address (filesystem store only). */
  setPublicUrl(url: string): void;
  close(): Promise<void>;
}

export function openApiAdapters(config: Config, logger: Logger, clock: () => Date): ApiAdapters {
  const tasksUrl = config.workerUrl ? new URL('tasks', withSlash(config.workerUrl)).href : null;
  if (config.gcp !== null) {
    if (tasksUrl === null || config.gcp.tasks === null) {
      throw new Error('OMTX_BACKEND=gcp needs OMTX_WORKER_URL: Cloud Tasks POSTs each task to the worker service');
    }
    const gcp = openGcpAdapters(config.gcp, (error, during) => logger.error({ err: error, during }, 'job store repair failed'));
    const queue = cloudTasksQueueFrom(config.gcp.projectId, config.gcp.tasks, tasksUrl);
    return {
      ...gcp,
      queue,
      artifactSource: null,
      setPublicUrl: () => {},
      async close() {
        await queue.close();
        await gcp.close();
      },
    };
  }

  const local = openLocalAdapters(config.dataDir, config.publicUrl ?? `http://${config.host}:${config.port}`);
  const { db, jobs } = local;
  const queue = new SqliteTaskQueue(db, {
    targetUrl: tasksUrl ?? 'http://127.0.0.1:9/unset',
    maxConcurrentDispatches: config.dispatchConcurrency,
    maxAttempts: config.taskMaxAttempts,
    clock,
    // Cloud Tasks drops a task that used its attempts; the local queue says so, and its jobs fail.
    onTaskFailed: async (task) => {
      const error = {
        code: 'DISPATCH_FAILED',
        message: `the worker did not accept the task after ${task.attempts} attempts (${task.lastError ?? `HTTP ${task.lastStatus}`})`,
        retryable: true,
      };
      await jobs.abandon(task.payload.jobIds, error, clock());
    },
    onError: (error, during) => logger.error({ err: error, during }, 'task queue fault'),
  });
  // Without a worker the tasks wait in the queue and the jobs stay QUEUED (DESIGN.md).
  if (tasksUrl !== null) queue.start();
  return {
    jobs,
    feed: local.feed,
    blobs: local.blobs,
    queue,
    apiKeyStore: new SqliteApiKeyStore(db),
    webhooks: new SqliteWebhookStore(db),
    artifactSource: local.blobs,
    setPublicUrl: (url) => local.blobs.setPublicBaseUrl(url),
    async close() {
      await queue.close();
      await local.feed.close();
      await jobs.close();
    },
  };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
