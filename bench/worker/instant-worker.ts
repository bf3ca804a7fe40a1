/**
 * BENCHMARK ONLY: the worker service exactly as `omtx worker` starts it (gpu-worker/src/main.ts:
 * embedded adapters over OMTX_DATA_DIR, `startWorkerServer`, a Semaphore of
 * OMTX_WORKER_CONCURRENCY, pino at OMTX_LOG_LEVEL on stdout) except that its registry holds
 * only the InstantRunner. Prints `{"workerUrl": …}` once listening; SIGTERM closes and exits 0
 * (so `--cpu-prof` writes its profile).
 *   OMTX_DATA_DIR=… node --import tsx bench/worker/instant-worker.ts
 */
import { pino } from 'pino';
import { loadWorkerConfig } from '../../gpu-worker/src/worker-config.js';
import { openLocalAdapters } from '../../src/adapters/local/open-local-adapters.js';
import { startWorkerServer } from '../../gpu-worker/src/worker-server.js';
import { Semaphore } from '../../gpu-worker/src/semaphore.js';
import { RunnerRegistry } from '../../gpu-worker/src/runners/registry.js';
import { InstantRunner } from './instant-runner.js';

const config = loadWorkerConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: 'omtx-worker' } });
const { jobs, blobs, feed } = openLocalAdapters(config.dataDir, 'http://unused.invalid');
const running = await startWorkerServer(
  {
    jobs,
    blobs,
    runners: new RunnerRegistry([new InstantRunner({ withFile: process.env.BENCH_INSTANT_FILES === '1' })]),
    clock: () => new Date(),
    leaseMs: config.leaseSeconds * 1000,
    jobMaxAttempts: config.jobMaxAttempts,
    log: (level, message, fields) => logger[level](fields ?? {}, message),
  },
  new Semaphore(config.concurrency),
  config.host,
  config.port,
);
process.stdout.write(`${JSON.stringify({ workerUrl: running.url })}\n`);
process.once('SIGTERM', () => {
  void running
    .close()
    .then(() => feed.close())
    .then(() => jobs.close())
    .then(() => process.exit(0));
});
