import type { Chemistry } from '../domain/chemistry.js';
import type { JobStore } from '../ports/job-store.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { SubmissionRules } from '../domain/validation/index.js';
import type { MsaStage } from './msa-stage.js';
import type { QuotaPolicy } from './quotas.js';
import type { WebhookUrlPolicy } from '../webhooks/url-policy.js';

/** What the use cases need; the composition root (`src/container.ts`) builds it. */
export interface ServiceDeps {
  jobs: JobStore;
  queue: TaskQueue;
  /** Where a BOLTZ2 target's MSA is stored before its jobs are sent. */
  blobs: BlobStore;
  msaStage: MsaStage;
  /** What this deployment can run (GPU memory, MSA server), checked at submit. */
  rules: SubmissionRules;
  chemistry: Chemistry;
  /** A Chemistry primed for many SMILES at once (parsed on every core for a large batch). */
  chemistryForBatch: (smiles: readonly string[]) => Promise<Chemistry>;
  clock: () => Date;
  newId: () => string;
  /** VINA ligands per task. */
  shardSize: number;
  /** Limits checked at submit, in the store's write transaction. */
  quotas: QuotaPolicy;
  /** Which webhook URLs a batch may name. */
  webhookUrls: WebhookUrlPolicy;
  /** The worker's BOLTZ2 shard time limit: BOLTZ2 shards are as large as fits it (the weights load once per shard). */
  boltzShardTimeLimitSeconds: number;
}
