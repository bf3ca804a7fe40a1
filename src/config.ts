import { z } from 'zod';
import { resolve } from 'node:path';
import { ConfigError, parseEnv } from './env-settings.js';
import { L4_INSTANCE, type InstanceShape, type Prices } from './domain/cost.js';
import { localMachineShape, priceEnv, pricesFrom } from './cost-settings.js';
import type { MsaServerAuth } from './adapters/msa/colabfold-msa-client.js';
import { limitsConfigFrom, limitsEnv, type LimitsConfig } from './server/limits/limits-config.js';
import { authConfigFrom, authEnv, postureConfigFrom, type AuthConfig, type PostureConfig } from './auth/auth-config.js';
import { quotaEnv, quotaSettingsFrom } from './services/quota-config.js';
import type { QuotaSettings } from './services/quotas.js';
import { webhookConfigFrom, webhookEnv, type WebhookConfig } from './webhooks/webhook-config.js';
import { backendEnv, gcpConfigFrom, gcpEnv, type GcpConfig } from './adapters/gcp/gcp-config.js';

const local = localMachineShape();

/**
 * Every setting, read once at start from the environment (and `omtx serve` flags, which
 * override it). A wrong value stops the start with a message naming the variable. Terraform
 * sets only these on the api service (test/deploy/terraform.test.ts).
 */
export const apiEnvSchema = z.object({
  // local: SQLite + files in OMTX_DATA_DIR; gcp: Firestore, Cloud Storage, Cloud Tasks (gcp-config.ts).
  ...backendEnv,
  ...gcpEnv,
  OMTX_DATA_DIR: z.string().min(1).default('./.omtx'),
  OMTX_HOST: z.string().min(1).default('127.0.0.1'),
  OMTX_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  OMTX_PUBLIC_URL: z.url().optional(),
  OMTX_LOCAL_USER: z.string().min(1).max(200).default('local'),
  OMTX_WORKER_URL: z.url().optional(),
  OMTX_SHARD_SIZE: z.coerce.number().int().min(1).max(1000).default(4),
  // ColabFold's MMseqs2 API (what `boltz --use_msa_server` calls); unset: no MSA server.
  OMTX_MSA_SERVER_URL: z.url().optional(),
  // A private server's credentials: basic auth, or an API key in a header (as Boltz takes them).
  OMTX_MSA_SERVER_USERNAME: z.string().min(1).optional(),
  OMTX_MSA_SERVER_PASSWORD: z.string().min(1).optional(),
  OMTX_MSA_SERVER_API_KEY: z.string().min(1).optional(),
  OMTX_MSA_SERVER_API_KEY_HEADER: z.string().min(1).default('X-API-Key'),
  OMTX_MSA_POLL_SECONDS: z.coerce.number().min(0.001).max(600).default(5),
  OMTX_BOLTZ_MAX_RESIDUES: z.coerce.number().int().min(10).max(5_000).default(1_300),
  OMTX_DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(2),
  OMTX_TASK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(100),
  OMTX_REAPER_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
  OMTX_SIGNED_URL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 24 * 3600)
    .default(3600),
  OMTX_MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  OMTX_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(30),
  OMTX_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(32 * 1024 * 1024),
  OMTX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OMTX_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(10),
  ...priceEnv,
  // The worker instances `estimateBatchCost` prices: the L4 service for BOLTZ2, the CPU one for VINA.
  OMTX_BOLTZ_INSTANCE_GPUS: z.coerce.number().int().min(0).max(8).default(L4_INSTANCE.gpus),
  OMTX_BOLTZ_INSTANCE_VCPUS: z.coerce.number().min(0.08).max(256).default(L4_INSTANCE.vcpus),
  OMTX_BOLTZ_INSTANCE_MEMORY_GIB: z.coerce.number().min(0.125).max(4096).default(L4_INSTANCE.memoryGib),
  OMTX_VINA_INSTANCE_VCPUS: z.coerce.number().min(0.08).max(256).default(local.vcpus),
  OMTX_VINA_INSTANCE_MEMORY_GIB: z.coerce.number().min(0.125).max(4096).default(local.memoryGib),
  // The worker's own setting: the BOLTZ2 shard size is planned to fit it.
  OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS: z.coerce.number().min(1).max(86_400).default(1_500),
  // Rate limits, query cost and the token limit: src/server/limits/limits-config.ts.
  ...limitsEnv,
  // Authentication (API keys, JWTs) and the production posture: src/auth/auth-config.ts.
  ...authEnv,
  // Quotas (src/services/quota-config.ts) and webhooks (src/webhooks/webhook-config.ts).
  ...quotaEnv,
  ...webhookEnv,
});

export interface Config {
  /** The Google Cloud adapters' settings when `OMTX_BACKEND=gcp`; null on the embedded default. */
  gcp: GcpConfig | null;
  dataDir: string;
  host: string;
  port: number;
  /** Base of artifact URLs; defaults to http://host:port once the port is known. */
  publicUrl: string | null;
  localUser: string;
  workerUrl: string | null;
  shardSize: number;
  /** The MSA server for BOLTZ2 targets; null: users upload MSAs or choose single-sequence mode. */
  msaServerUrl: string | null;
  msaServerAuth: MsaServerAuth | null;
  msaPollSeconds: number;
  boltzMaxResidues: number;
  dispatchConcurrency: number;
  taskMaxAttempts: number;
  reaperIntervalSeconds: number;
  signedUrlTtlSeconds: number;
  maxQueryDepth: number;
  maxAliases: number;
  maxBodyBytes: number;
  logLevel: z.infer<typeof apiEnvSchema>['OMTX_LOG_LEVEL'];
  shutdownGraceSeconds: number;
  cost: CostConfig;
  /** Rate limits per field, query cost and its budget, the token limit. */
  limits: LimitsConfig;
  /** Who may call the api: API keys, JWTs, or the local user on loopback. */
  auth: AuthConfig;
  /** Introspection, GraphiQL and CORS. */
  posture: PostureConfig;
  /** Per user and per organization; null limits are unlimited. */
  quotas: QuotaSettings;
  /** Batch webhooks: signing, retries, which addresses they may reach. */
  webhooks: WebhookConfig;
}

/** What compute costs, for `estimateBatchCost` and the BOLTZ2 shard size. */
export interface CostConfig {
  prices: Prices;
  boltzInstance: InstanceShape;
  vinaInstance: InstanceShape;
  /** Seconds after which the worker kills a BOLTZ2 shard (`OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS`). */
  boltzShardTimeLimitSeconds: number;
}

export { ConfigError };

/** Parses settings from `env`; throws ConfigError listing each bad variable and what it allows. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const c = parseEnv(apiEnvSchema, env, 'configuration');
  const auth = authConfigFrom(c, c.OMTX_HOST);
  if (c.OMTX_BACKEND === 'gcp' && c.OMTX_WEBHOOK_SECRET === undefined) {
    // The data directory's key is per machine: api instances would sign webhooks differently.
    throw new ConfigError(
      'invalid configuration:\n  OMTX_WEBHOOK_SECRET is required when OMTX_BACKEND=gcp (every api instance must sign alike)',
    );
  }
  return {
    gcp: gcpConfigFrom(c, 'api'),
    dataDir: resolve(c.OMTX_DATA_DIR),
    host: c.OMTX_HOST,
    port: c.OMTX_PORT,
    publicUrl: c.OMTX_PUBLIC_URL ?? null,
    localUser: c.OMTX_LOCAL_USER,
    workerUrl: c.OMTX_WORKER_URL ?? null,
    shardSize: c.OMTX_SHARD_SIZE,
    msaServerUrl: c.OMTX_MSA_SERVER_URL ?? null,
    msaServerAuth: msaServerAuth(c),
    msaPollSeconds: c.OMTX_MSA_POLL_SECONDS,
    boltzMaxResidues: c.OMTX_BOLTZ_MAX_RESIDUES,
    dispatchConcurrency: c.OMTX_DISPATCH_CONCURRENCY,
    taskMaxAttempts: c.OMTX_TASK_MAX_ATTEMPTS,
    reaperIntervalSeconds: c.OMTX_REAPER_INTERVAL_SECONDS,
    signedUrlTtlSeconds: c.OMTX_SIGNED_URL_TTL_SECONDS,
    maxQueryDepth: c.OMTX_MAX_QUERY_DEPTH,
    maxAliases: c.OMTX_MAX_ALIASES,
    maxBodyBytes: c.OMTX_MAX_BODY_BYTES,
    logLevel: c.OMTX_LOG_LEVEL,
    shutdownGraceSeconds: c.OMTX_SHUTDOWN_GRACE_SECONDS,
    cost: {
      prices: pricesFrom(c),
      boltzInstance: {
        gpus: c.OMTX_BOLTZ_INSTANCE_GPUS,
        vcpus: c.OMTX_BOLTZ_INSTANCE_VCPUS,
        memoryGib: c.OMTX_BOLTZ_INSTANCE_MEMORY_GIB,
      },
      vinaInstance: { gpus: 0, vcpus: c.OMTX_VINA_INSTANCE_VCPUS, memoryGib: c.OMTX_VINA_INSTANCE_MEMORY_GIB },
      boltzShardTimeLimitSeconds: c.OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS,
    },
    limits: limitsConfigFrom(c),
    auth,
    posture: postureConfigFrom(c, auth),
    quotas: quotaSettingsFrom(c),
    webhooks: webhookConfigFrom(c),
  };
}

/** Basic auth or an API key, never both (Boltz refuses both too); a half-given pair is an error. */
function msaServerAuth(c: z.infer<typeof apiEnvSchema>): MsaServerAuth | null {
  const basic = c.OMTX_MSA_SERVER_USERNAME !== undefined || c.OMTX_MSA_SERVER_PASSWORD !== undefined;
  if (basic && c.OMTX_MSA_SERVER_API_KEY !== undefined) {
    throw new ConfigError(
      'invalid configuration:\n  set OMTX_MSA_SERVER_USERNAME and OMTX_MSA_SERVER_PASSWORD, or OMTX_MSA_SERVER_API_KEY, not both',
    );
  }
  if (basic) {
    if (c.OMTX_MSA_SERVER_USERNAME === undefined || c.OMTX_MSA_SERVER_PASSWORD === undefined) {
      throw new ConfigError('invalid configuration:\n  OMTX_MSA_SERVER_USERNAME and OMTX_MSA_SERVER_PASSWORD go together');
    }
    return { type: 'basic', username: c.OMTX_MSA_SERVER_USERNAME, password: c.OMTX_MSA_SERVER_PASSWORD };
  }
  if (c.OMTX_MSA_SERVER_API_KEY !== undefined) {
    return { type: 'header', value: c.OMTX_MSA_SERVER_API_KEY, header: c.OMTX_MSA_SERVER_API_KEY_HEADER };
  }
  return null;
}
