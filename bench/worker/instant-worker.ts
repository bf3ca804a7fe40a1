/**
 * BENCHMARK ONLY: the worker service exactly as `omtx worker` starts it (gpu-worker/src/main.ts)
 * except that its registry holds only the InstantRunner. Prints `{"workerUrl": …}` once listening; SIGTERM closes and exits 0
 * (so `--cpu-prof` writes its profile).
 *   OMTX_DATA_DIR=… node --import tsx bench/worker/instant-worker.ts
 */
import { runWorkerCommand } from '../../gpu-worker/src/main.js';
import { RunnerRegistry } from '../../gpu-worker/src/runners/registry.js';
import { InstantRunner } from './instant-runner.js';

await runWorkerCommand(
  process.env,
  new RunnerRegistry([new InstantRunner({ withFile: process.env.BENCH_INSTANT_FILES === '1' })]),
);
