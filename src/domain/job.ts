/**
 * The records OMTX-Hub keeps: individual jobs, batches and the children of batches.
 * Plain data, no behaviour: the status machine lives in `status.ts`, validation in
 * `validation/`, and the stores map these shapes to their own rows and documents.
 */

export const MODEL_NAMES = ['BOLTZ2', 'VINA'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const JOB_STATUSES = ['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const BATCH_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export type JobKind = 'INDIVIDUAL' | 'BATCH_CHILD';

export const STRUCTURE_FORMATS = ['PDB', 'PDBQT', 'CIF', 'SDF'] as const;
export type StructureFormat = (typeof STRUCTURE_FORMATS)[number];

export interface Structure {
  format: StructureFormat;
  content: string;
}

/** Å; `center` and `size` hold x, y, z. */
export interface Pocket {
  center: [number, number, number];
  size: [number, number, number];
}

export const MSA_FORMATS = ['A3M', 'CSV'] as const;
export type MsaFormat = (typeof MSA_FORMATS)[number];

/**
 * A multiple sequence alignment of the protein, uploaded by the user: A3M, or Boltz's CSV
 * (`key,sequence`). Its first sequence is the protein's own.
 */
export interface Msa {
  format: MsaFormat;
  content: string;
}

export interface Protein {
  name: string | null;
  sequence: string | null;
  structure: Structure | null;
  pocket: Pocket | null;
  /** BOLTZ2 only; null when the MSA comes from the MSA server or single-sequence mode is chosen. */
  msa: Msa | null;
}

export interface Ligand {
  name: string | null;
  /** As the user wrote it. */
  smiles: string;
  /** RDKit's canonical form, used for de-duplication, exports and the runners. */
  canonicalSmiles: string;
  heavyAtoms: number;
  rotatableBonds: number;
  structure: Structure | null;
}

/** Each model reads its own; unset fields take the runner's documented default. */
export interface Parameters {
  seed: number | null;
  diffusionSamples: number | null;
  samplingSteps: number | null;
  recyclingSteps: number | null;
  useMsaServer: boolean | null;
  exhaustiveness: number | null;
  numPoses: number | null;
}

export type AffinityUnit = 'LOG10_IC50_UM' | 'KCAL_PER_MOL';

/** The unit each model reports affinity in: Vina's score, Boltz-2's log10 IC50. */
export function affinityUnitOf(model: ModelName): AffinityUnit {
  return model === 'VINA' ? 'KCAL_PER_MOL' : 'LOG10_IC50_UM';
}

export interface Affinity {
  value: number;
  unit: AffinityUnit;
  kcalPerMol: number | null;
  probabilityBinder: number | null;
  /** Boltz-2's two affinity heads (the headline values are their mean); empty for VINA. */
  heads: AffinityHead[];
}

export interface AffinityHead {
  value: number;
  probabilityBinder: number | null;
}

/** Boltz-2's confidence of the predicted complex, 0–1 except the PDEs (Å). */
export interface Confidence {
  score: number;
  ptm: number | null;
  iptm: number | null;
  /** `complex_plddt`. */
  plddt: number | null;
  ligandIptm: number | null;
  proteinIptm: number | null;
  complexIplddt: number | null;
  complexPde: number | null;
  complexIpde: number | null;
}

export interface Pose {
  rank: number;
  score: number;
  rmsdLowerBound: number | null;
  rmsdUpperBound: number | null;
}

/** A file a job produced, stored in the BlobStore under `key`. */
export interface ArtifactRef {
  name: string;
  key: string;
  contentType: string;
  sizeBytes: number;
}

export interface Result {
  affinity: Affinity | null;
  confidence: Confidence | null;
  poses: Pose[];
  artifacts: ArtifactRef[];
  /** How the result was made: model, tool versions, seed, parameters. */
  provenance: Record<string, unknown>;
}

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
}

/**
 * What the worker was billed for a job's attempts, or a batch's children, in whole units
 * (milliseconds, nano-dollars) so that sums stay exact however many ligands a screen has.
 */
export interface Usage {
  /** Wall-clock time the worker spent on it, model load and uploads included. */
  runtimeMs: number;
  /** `runtimeMs` × the instance's GPUs, while a GPU model ran; 0 for a CPU model. */
  gpuMs: number;
  /** The instance's price for `runtimeMs` (GPU, vCPUs and memory), in 1e-9 USD. */
  costNanoUsd: number;
}

export function noUsage(): Usage {
  return { runtimeMs: 0, gpuMs: 0, costNanoUsd: 0 };
}

export interface Job {
  id: string;
  owner: string;
  kind: JobKind;
  model: ModelName;
  name: string | null;
  status: JobStatus;
  ligand: Ligand;
  /** Null for batch children: they share their batch's protein. */
  protein: Protein | null;
  parameters: Parameters;
  batchId: string | null;
  batchIndex: number | null;
  result: Result | null;
  error: JobError | null;
  attempts: number;
  /** `attempts` when a user last retried the job: the worker's attempt budget counts from here. */
  attemptsBeforeRetry: number;
  /** Lease of the attempt that runs the job, while RUNNING. */
  leaseExpiresAt: Date | null;
  /**
   * Every attempt's usage summed (a failed or interrupted attempt was billed too); null until
   * an attempt has reported one.
   */
  usage: Usage | null;
  /**
   * GPU milliseconds estimated at submit for one run of the job (its share of the batch's
   * estimate, model loads included); 0 for a CPU model. The GPU quota counts it while the
   * job is open, so jobs admitted but not yet run count against the month at once.
   */
  estimatedGpuMs: number;
  /** The submitter's organization, kept for organization quotas and sharing; null for none. */
  organizationId: string | null;
  /**
   * Members of `organizationId` may read it (and its children, artifacts, subscriptions);
   * only the owner may cancel or retry it.
   */
  sharedWithOrganization: boolean;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  idempotencyKey: string | null;
}

export interface StatusCounts {
  pending: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface Batch {
  id: string;
  owner: string;
  name: string;
  model: ModelName;
  status: BatchStatus;
  protein: Protein;
  parameters: Parameters;
  maxConcurrent: number | null;
  total: number;
  counts: StatusCounts;
  /** Set once by cancelBatch; children not yet started end CANCELLED. */
  cancelRequested: boolean;
  /** The children's usage summed; it changes in the same transaction as the child's. */
  usage: Usage;
  /** The submitter's organization, kept for organization quotas and sharing; null for none. */
  organizationId: string | null;
  /**
   * Members of `organizationId` may read it (and its children, artifacts, subscriptions);
   * only the owner may cancel or retry it.
   */
  sharedWithOrganization: boolean;
  /** Where the batch's terminal state is POSTed (signed), checked at submit; null for none. */
  webhookUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  idempotencyKey: string | null;
}

export function emptyCounts(): StatusCounts {
  return { pending: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
}

export function countKey(status: JobStatus): keyof StatusCounts {
  return status.toLowerCase() as keyof StatusCounts;
}

/** What a submission decides about a new job; the rest starts empty (not shared unless said). */
export type NewJob = Pick<
  Job,
  'id' | 'owner' | 'kind' | 'model' | 'name' | 'ligand' | 'protein' | 'parameters' | 'batchId' | 'batchIndex' | 'idempotencyKey'
> &
  Partial<Pick<Job, 'organizationId' | 'sharedWithOrganization' | 'estimatedGpuMs'>>;

/** A job as it is first stored: PENDING, no attempt, no result. */
export function pendingJob(fields: NewJob, now: Date): Job {
  return {
    ...fields,
    organizationId: fields.organizationId ?? null,
    sharedWithOrganization: fields.sharedWithOrganization ?? false,
    status: 'PENDING',
    result: null,
    error: null,
    attempts: 0,
    attemptsBeforeRetry: 0,
    leaseExpiresAt: null,
    usage: null,
    estimatedGpuMs: fields.estimatedGpuMs ?? 0,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    completedAt: null,
  };
}

/** What a submission decides about a new batch; the rest starts empty. */
export type NewBatch = Pick<
  Batch,
  'id' | 'owner' | 'name' | 'model' | 'protein' | 'parameters' | 'maxConcurrent' | 'idempotencyKey' | 'webhookUrl'
> &
  Partial<Pick<Batch, 'organizationId' | 'sharedWithOrganization'>>;

/** A batch as it is first stored, with `total` children all PENDING. */
export function pendingBatch(fields: NewBatch, total: number, now: Date): Batch {
  return {
    ...fields,
    organizationId: fields.organizationId ?? null,
    sharedWithOrganization: fields.sharedWithOrganization ?? false,
    status: 'PENDING',
    total,
    counts: { ...emptyCounts(), pending: total },
    cancelRequested: false,
    usage: noUsage(),
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    completedAt: null,
  };
}
