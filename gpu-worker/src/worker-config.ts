import { z } from 'zod';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from '../../src/env-settings.js';
import { localMachineShape, priceEnv, pricesFrom } from '../../src/cost-settings.js';
import type { InstanceShape, Prices } from '../../src/domain/cost.js';
import { backendEnv, gcpConfigFrom, gcpEnv, type GcpConfig } from '../../src/adapters/gcp/gcp-config.js';

const local = localMachineShape();

/** Settings of the worker service, from its environment; a wrong one names the variable. */
export const workerEnvSchema = z.object({
  // local: the api's data directory; gcp: Firestore and Cloud Storage (src/adapters/gcp/gcp-config.ts).
  ...backendEnv,
  ...gcpEnv,
  OMTX_DATA_DIR: z.string().min(1).default('./.omtx'),
  OMTX_WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  OMTX_WORKER_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Cloud Run tells a container its port in PORT; OMTX_WORKER_PORT, when set, wins.
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  OMTX_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(120),
  OMTX_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  OMTX_JOB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  OMTX_VINA_CPU: z.coerce.number().int().min(0).max(256).default(0),
  OMTX_VINA_TIME_LIMIT_SECONDS: z.coerce.number().min(1).max(86_400).default(600),
  OMTX_VINA_BIN: z.string().min(1).default('vina'),
  OMTX_OBABEL_BIN: z.string().min(1).default('obabel'),
  OMTX_BOLTZ_BIN: z.string().min(1).default('boltz'),
  // Boltz's own variable: where its weights and CCD live (`boltz predict --cache`).
  BOLTZ_CACHE: z.string().min(1).optional(),
  OMTX_BOLTZ_ACCELERATOR: z.enum(['gpu', 'cpu']).default('gpu'),
  // Kills a shard's `boltz predict` past this; well inside Cloud Tasks' 30-minute dispatch deadline.
  OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS: z.coerce.number().min(1).max(86_400).default(1_500),
  OMTX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // The instance this worker runs on, billed whole for every second a job holds it. The
  // default is this machine without a GPU; the L4 service sets 1 GPU, 4 vCPU, 16 GiB in its spec.
  OMTX_INSTANCE_GPUS: z.coerce.number().int().min(0).max(8).default(0),
  OMTX_INSTANCE_VCPUS: z.coerce.number().min(0.08).max(256).default(local.vcpus),
  OMTX_INSTANCE_MEMORY_GIB: z.coerce.number().min(0.125).max(4096).default(local.memoryGib),
  ...priceEnv,
});

export interface WorkerConfig {
  /** The Google Cloud adapters' settings when `OMTX_BACKEND=gcp`; null on the embedded default. */
  gcp: GcpConfig | null;
  dataDir: string;
  host: string;
  port: number;
  leaseSeconds: number;
  /** Shards run at once; Vina already uses every core, so one by default. */
  concurrency: number;
  /** Attempts of one job (worker deaths included) before it fails for good. */
  jobMaxAttempts: number;
  vinaCpu: number;
  vinaTimeLimitSeconds: number;
  vinaBin: string;
  obabelBin: string;
  boltzBin: string;
  /** Boltz's weights and CCD (`--cache`); `BOLTZ_CACHE`, else Boltz's default `~/.boltz`. */
  boltzCache: string;
  boltzAccelerator: 'gpu' | 'cpu';
  boltzShardTimeLimitSeconds: number;
  logLevel: z.infer<typeof workerEnvSchema>['OMTX_LOG_LEVEL'];
  /** What each job's usage is priced on. */
  instance: InstanceShape;
  prices: Prices;
}

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const c = parseEnv(workerEnvSchema, env, 'worker configuration');
  return {
    gcp: gcpConfigFrom(c, 'worker'),
    dataDir: resolve(c.OMTX_DATA_DIR),
    host: c.OMTX_WORKER_HOST,
    port: c.OMTX_WORKER_PORT ?? c.PORT ?? 8001,
    leaseSeconds: c.OMTX_LEASE_SECONDS,
    concurrency: c.OMTX_WORKER_CONCURRENCY,
    jobMaxAttempts: c.OMTX_JOB_MAX_ATTEMPTS,
    vinaCpu: c.OMTX_VINA_CPU,
    vinaTimeLimitSeconds: c.OMTX_VINA_TIME_LIMIT_SECONDS,
    vinaBin: c.OMTX_VINA_BIN,
    obabelBin: c.OMTX_OBABEL_BIN,
    boltzBin: c.OMTX_BOLTZ_BIN,
    boltzCache: resolve(c.BOLTZ_CACHE ?? join(homedir(), '.boltz')),
    boltzAccelerator: c.OMTX_BOLTZ_ACCELERATOR,
    boltzShardTimeLimitSeconds: c.OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS,
    logLevel: c.OMTX_LOG_LEVEL,
    instance: { gpus: c.OMTX_INSTANCE_GPUS, vcpus: c.OMTX_INSTANCE_VCPUS, memoryGib: c.OMTX_INSTANCE_MEMORY_GIB },
    prices: pricesFrom(c),
  };
}
