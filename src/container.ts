import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { JobStore } from './ports/job-store.js';
import type { BlobStore } from './ports/blob-store.js';
import type { ChangeFeed } from './ports/change-feed.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { ServiceDeps } from './services/deps.js';
import { openApiAdapters } from './adapters/open-api-adapters.js';
import type { SignedArtifactSource } from './server/artifact-route.js';
import { loadRdkitChemistry } from './chemistry/rdkit-chemistry.js';
import { parseSmilesInParallel, warmRdkitWorkers } from './chemistry/parallel-chemistry.js';
import { ModelCatalog, workerModelsOverHttp, workerModelsReport, type WorkerModelsSource } from './services/model-catalog.js';
import { MsaStage } from './services/msa-stage.js';
import { ColabFoldMsaClient } from './adapters/msa/colabfold-msa-client.js';
import type { MsaProvider } from './ports/msa-provider.js';
import { startReaper } from './services/reaper.js';
import { WatchHub } from '../subscriptions/watch-hub.js';
import { createLimits, type Limits } from './server/limits/limits.js';
import { ApiKeys } from './auth/api-keys.js';
import { JwtVerifier } from './auth/jwt-verifier.js';
import { gpuSecondsEstimator } from './services/quotas.js';
import type { WebhookStore } from './ports/webhook-store.js';
import { startWebhookDispatcher } from './webhooks/dispatcher.js';
import type { BlockedResolution } from './webhooks/url-policy.js';
import { webhookServerSecret } from './webhooks/server-secret.js';
import { webhookSigningSecret } from './webhooks/signing.js';

/** Everything a request or a background loop needs, built once per process. */
export interface App {
  config: Config;
  logger: Logger;
  clock: () => Date;
  jobs: JobStore;
  blobs: BlobStore;
  /** Serves the filesystem store's signed URLs at `/artifacts`; null when the store serves its own (GCS). */
  artifactSource: SignedArtifactSource | null;
  queue: TaskQueue;
  feed: ChangeFeed;
  hub: WatchHub;
  models: ModelCatalog;
  services: ServiceDeps;
  /** Rate limits and query-cost budgets, in memory or shared through Redis (server/limits). */
  limits: Limits;
  /** API keys: create, list, revoke, verify (auth/api-keys.ts). */
  apiKeys: ApiKeys;
  /** Bearer JWTs, when OMTX_JWT_* configure them. */
  jwt: JwtVerifier | null;
  /** The webhook outbox and delivery log. */
  webhooks: WebhookStore;
  /** A user's webhook signing secret (derived from OMTX_WEBHOOK_SECRET or the data directory's key). */
  webhookSigningSecret(owner: string): string;
  /** Sets the base of artifact URLs once the server knows its address. */
  setPublicUrl(url: string): void;
  close(): Promise<void>;
}

export interface AppOptions {
  clock?: () => Date;
}

/**
 * The composition root: the adapters `OMTX_BACKEND` picks (src/adapters/open-api-adapters.ts),
 * then the services, loops and limits over them, the same for every backend.
 */
export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const clock = options.clock ?? (() => new Date());
  const adapters = openApiAdapters(config, logger, clock);
  const { jobs, queue, feed, blobs } = adapters;
  const chemistry = await loadRdkitChemistry();
  warmRdkitWorkers();
  // The address a webhook host resolved to stays in the log: the user's error does not name it.
  const logBlockedWebhook = (blocked: BlockedResolution) => logger.warn(blocked, 'webhook host resolves to a blocked address');
  const services: ServiceDeps = {
    jobs,
    queue,
    chemistry,
    chemistryForBatch: (smiles) => parseSmilesInParallel(chemistry, smiles),
    clock,
    newId: randomUUID,
    shardSize: config.shardSize,
    boltzShardTimeLimitSeconds: config.cost.boltzShardTimeLimitSeconds,
    blobs,
    msaStage: new MsaStage(blobs, msaProviderFor(config), {
      onFault: (error) => logger.error({ err: error }, 'dispatch after an MSA search failed'),
    }),
    rules: {
      boltzMaxResidues: config.boltzMaxResidues,
      msaServer: config.msaServerUrl !== null,
      boltzShardTimeLimitSeconds: config.cost.boltzShardTimeLimitSeconds,
    },
    quotas: {
      limits: config.quotas,
      estimateGpuSeconds: gpuSecondsEstimator({
        ...config.cost,
        shardSize: config.shardSize,
        boltzMaxResidues: config.boltzMaxResidues,
      }),
    },
    webhookUrls: { allowPrivate: config.webhooks.allowPrivate, onBlocked: logBlockedWebhook },
  };
  const stopReaper = startReaper(services, { intervalMs: config.reaperIntervalSeconds * 1000 }, (error) =>
    logger.error({ err: error }, 'reaper fault'),
  );
  const apiKeys = new ApiKeys(adapters.apiKeyStore, logger.child({ component: 'auth' }), {
    cacheSeconds: config.auth.apiKeyCacheSeconds,
    clock,
  });
  const { webhooks } = adapters;
  const webhookSecret = webhookServerSecret(config.dataDir, config.webhooks.secret);
  const secretFor = (owner: string) => webhookSigningSecret(webhookSecret, owner);
  const webhookDispatcher = startWebhookDispatcher(
    { jobs, webhooks, clock, secretFor, settings: config.webhooks, onBlocked: logBlockedWebhook },
    { intervalMs: config.webhooks.pollIntervalMs },
    (error) => logger.error({ err: error }, 'webhook delivery fault'),
  );
  const limits = createLimits(config.limits, logger.child({ component: 'limits' }));
  const hub = new WatchHub(jobs, feed, { onError: (error) => logger.error({ err: error }, 'subscription read failed') });

  return {
    config,
    logger,
    clock,
    jobs,
    blobs,
    artifactSource: adapters.artifactSource,
    queue,
    feed,
    hub,
    models: new ModelCatalog(modelsSourceFor(config, blobs)),
    services,
    limits,
    apiKeys,
    jwt: config.auth.jwt ? new JwtVerifier(config.auth.jwt) : null,
    webhooks,
    webhookSigningSecret: secretFor,
    setPublicUrl: adapters.setPublicUrl,
    async close() {
      await stopReaper();
      await webhookDispatcher.stop();
      await services.msaStage.close();
      await adapters.close();
      await limits.close();
    },
  };
}

/** The MSA server's client, or null when none is configured (BOLTZ2 users then upload MSAs). */
function msaProviderFor(config: Config): MsaProvider | null {
  if (config.msaServerUrl === null) return null;
  return new ColabFoldMsaClient({
    url: config.msaServerUrl,
    ...(config.msaServerAuth && { auth: config.msaServerAuth }),
    pollIntervalMs: config.msaPollSeconds * 1000,
  });
}

/** The worker's own `GET /models` on the embedded default; its stored report on Google Cloud. */
function modelsSourceFor(config: Config, blobs: BlobStore): WorkerModelsSource | null {
  if (config.gcp !== null) return workerModelsReport(blobs);
  return config.workerUrl === null ? null : workerModelsOverHttp(config.workerUrl);
}
