import { pino } from 'pino';
import { loadWorkerConfig, type WorkerConfig } from './worker-config.js';
import { openWorkerAdapters } from './worker-adapters.js';
import { startWorkerServer, type RunningWorker } from './worker-server.js';
import { Semaphore } from './semaphore.js';
import { createRunnerRegistry, type RunnerRegistry } from './runners/registry.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import { WORKER_MODELS_KEY } from '../../src/domain/artifact-keys.js';

/**
 * Starts the worker over the adapters `OMTX_BACKEND` picks: the api's data directory (the same
 * SQLite file and artifact directory) by default, Firestore and the bucket on Google Cloud.
 */
export async function startWorker(
  config: WorkerConfig,
  runners: RunnerRegistry = createRunnerRegistry(config),
): Promise<RunningWorker & { closeAll(): Promise<void> }> {
  const logger = pino({ level: config.logLevel, base: { service: 'omtx-worker' } });
  const adapters = openWorkerAdapters(config, (error, during) => logger.error({ err: error, during }, 'job store repair failed'));
  const { jobs, blobs } = adapters;
  const shutdown = new AbortController();
  const running = await startWorkerServer(
    {
      jobs,
      blobs,
      runners,
      clock: () => new Date(),
      leaseMs: config.leaseSeconds * 1000,
      jobMaxAttempts: config.jobMaxAttempts,
      shutdown: shutdown.signal,
      billing: { instance: config.instance, prices: config.prices },
      log: (level, message, fields) => logger[level](fields ?? {}, message),
    },
    new Semaphore(config.concurrency),
    config.host,
    config.port,
  );
  logger.info({ url: running.url }, 'OMTX-Hub worker listening');
  await reportModels(blobs, runners).catch((error: unknown) =>
    logger.warn({ err: error }, 'could not store the models report; the api will say the worker has not reported'),
  );
  return {
    ...running,
    async closeAll() {
      // A docking in flight is killed (Cloud Run gives 10 s after SIGTERM): its job is released
      // as INTERRUPTED, the task answers 503, and the queue delivers it to another worker.
      shutdown.abort();
      await running.close();
      await adapters.close();
    },
  };
}

/** `omtx worker`: runs until SIGTERM/SIGINT (with another registry: a benchmark's runner). */
export async function runWorkerCommand(env: Record<string, string | undefined>, runners?: RunnerRegistry): Promise<void> {
  const worker = await startWorker(loadWorkerConfig(env), runners);
  // The parent (`omtx serve`) reads this line to learn the port.
  process.stdout.write(`${JSON.stringify({ workerUrl: worker.url })}\n`);
  const stop = () => void worker.closeAll().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (env.OMTX_WORKER_EXIT_WITH_PARENT === '1') {
    // Started by `omtx serve`: its stdin pipe closes when the api dies, even by SIGKILL.
    process.stdin.on('close', stop).resume();
  }
}

/**
 * Stores what this worker can run where the api reads it on Google Cloud (see
 * `workerModelsReport`): the api never wakes the GPU service to list models.
 */
async function reportModels(blobs: BlobStore, runners: RunnerRegistry): Promise<void> {
  const report = { models: await runners.describe(), reportedAt: new Date().toISOString() };
  await blobs.put(WORKER_MODELS_KEY, JSON.stringify(report), 'application/json');
}
