import { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import type {
  Batch,
  BatchStatus,
  Job,
  JobStatus,
  Ligand,
  ModelName,
  Parameters,
  Pocket,
  Result,
  Usage,
} from '../../../domain/job.js';
import { isTerminal } from '../../../domain/status.js';
import { STRUCTURE_FORMATS, MSA_FORMATS } from '../../../domain/job.js';
import type { PayloadRef } from './payloads.js';

/**
 * The `jobs` collection: one document per job or batch, id = job id, in the snake_case layout
 * the existing OMTX-Hub deployment writes (DESIGN.md). The DESIGN fields keep their meaning:
 * `job_id`, `job_type` (INDIVIDUAL | BATCH_PARENT | BATCH_CHILD), `status` (lowercase), `user_id`,
 * `model` ('boltz2' | 'vina'), `created_at` … `completed_at` (Timestamps), `input_data`
 * (`protein_sequence`, `ligand_smiles`, `ligand_name`, `parameters` + ours), `results` (`affinity`
 * and `confidence` as plain numbers, so completed legacy children rank with ours, + ours),
 * `batch_parent_id`, `batch_index`. Fields of ours, all snake_case:
 *
 * - every job: `name`, `error`, `attempts`, `attempts_before_retry`, `lease_expires_at`, `usage`
 *   {runtime_ms, gpu_ms, cost_nano_usd}, `estimated_gpu_ms`, `gpu_ms_before_retry`,
 *   `gpu_ms_counted` (what the GPU quota sums, kept with every write: see `gpuMsCounted`),
 *   `organization_id`, `shared_with_organization`, `idempotency_key`, `changed_at` (the commit's
 *   server time, which the change feed's child listener filters on), `commit_token` (the store
 *   call that wrote it last, so a transaction re-run after a lost reply knows its own commit).
 * - a batch: `max_concurrent`, `total`, `cancel_requested`, `webhook_url`, `counter_shards`
 *   (see batch-counters.ts), `children_state` ('staging' while createBatch makes its children
 *   visible, see firestore-job-store.ts) and `children_ready_at`, `retry_requested_at` and
 *   `retry_cursor` while retryFailed walks its failed children, `commit_token`.
 *
 * Defaults for what a legacy document lacks: `job_type` INDIVIDUAL, or BATCH_CHILD when it has a
 * `batch_parent_id`; `name` null (or the legacy `job_name`/`batch_name`); attempts 0; no lease;
 * usage null on a job and zero on a batch; estimates 0 (it counts what it recorded); not in an
 * organization, not shared; no idempotency key; `updated_at` = `created_at`; parameters not
 * given are null (the runner's defaults); canonical SMILES = the SMILES as written, atom and bond
 * counts 0 (not computed then); an affinity number in `results` is in the model's unit with no
 * heads, and `affinity_probability` its binder probability; a `confidence` number is the score;
 * file references (`files` {name: path}, or fields ending in `_file`/`_path`) become artifacts of
 * unknown size (0); a failed legacy job's `error_message` becomes a non-retryable LEGACY error. A
 * batch's `total` defaults to counting its children, and a batch without `counter_shards` has its
 * counts and usage counted from its children (aggregation queries) instead of shards; its
 * children may lack `results` until they end, so its ranked lists find the unranked ones by a
 * filtered index scan (firestore-job-store.ts `listBatchJobs`). The legacy `progress` field is
 * ignored: progress is the counts. A document that breaks this layout is a
 * MalformedDocumentError naming the document path and the field, never a guessed value.
 */
export const JOBS = 'jobs';

/** `job_type` of a child whose batch has not been admitted yet: no query of ours matches it. */
export const STAGED_CHILD = 'BATCH_CHILD_STAGED';

const timestamp = z.union([
  z.instanceof(Timestamp),
  z.iso.datetime({ offset: true }).transform((s) => Timestamp.fromDate(new Date(s))),
]);
const optionalTimestamp = timestamp.nullish().transform((t) => t ?? null);
const nullableString = z
  .string()
  .nullish()
  .transform((s) => s ?? null);
const nullableNumber = z
  .number()
  .nullish()
  .transform((n) => n ?? null);
const count = z
  .number()
  .int()
  .nonnegative()
  .nullish()
  .transform((n) => n ?? 0);

const payloadRef = z.object({ sha256: z.string(), parts: z.number().int().positive(), bytes: z.number().int() });
/** Text kept in the document, or in `payloads` when it is large (payloads.ts). */
const textField = z.object({ content: z.string().optional(), payload: payloadRef.optional() });
const structureDoc = textField.extend({ format: z.enum(STRUCTURE_FORMATS) });
const msaDoc = textField.extend({ format: z.enum(MSA_FORMATS) });
const vector3 = z.tuple([z.number(), z.number(), z.number()]);

const parametersDoc = z.preprocess(
  (p) => p ?? {},
  z.looseObject({
    seed: nullableNumber,
    diffusion_samples: nullableNumber,
    sampling_steps: nullableNumber,
    recycling_steps: nullableNumber,
    use_msa_server: z
      .boolean()
      .nullish()
      .transform((b) => b ?? null),
    exhaustiveness: nullableNumber,
    num_poses: nullableNumber,
  }),
);

const inputDataDoc = z.looseObject({
  protein_sequence: nullableString,
  protein_name: nullableString,
  protein_structure: structureDoc.nullish(),
  pocket: z.object({ center: vector3, size: vector3 }).nullish(),
  msa: msaDoc.nullish(),
  ligand_smiles: z.string(),
  ligand_name: nullableString,
  canonical_smiles: z.string().optional(),
  heavy_atoms: count,
  rotatable_bonds: count,
  ligand_structure: z
    .object({ format: z.enum(STRUCTURE_FORMATS), content: z.string() })
    .nullish()
    .transform((s) => s ?? null),
  parameters: parametersDoc,
});

const usageDoc = z.object({ runtime_ms: z.number().int(), gpu_ms: z.number().int(), cost_nano_usd: z.number().int() });

const resultsDoc = z
  .looseObject({
    affinity: nullableNumber,
    confidence: nullableNumber,
    affinity_probability: nullableNumber,
    affinity_details: z
      .object({
        unit: z.enum(['LOG10_IC50_UM', 'KCAL_PER_MOL']),
        kcal_per_mol: nullableNumber,
        probability_binder: nullableNumber,
        heads: z.array(z.object({ value: z.number(), probability_binder: nullableNumber })),
      })
      .optional(),
    confidence_details: z.record(z.string(), z.number().nullable()).optional(),
    poses: z
      .array(
        z.object({
          rank: z.number(),
          score: z.number(),
          rmsd_lower_bound: nullableNumber,
          rmsd_upper_bound: nullableNumber,
        }),
      )
      .optional(),
    artifacts: z
      .array(z.object({ name: z.string(), key: z.string(), content_type: z.string(), size_bytes: z.number() }))
      .optional(),
    files: z.record(z.string(), z.string()).optional(),
    provenance_json: z.string().optional(),
  })
  .nullish();

const jobStatus = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.enum(['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']));
const modelName = z
  .string()
  .transform((s) => s.toLowerCase().replace(/[^a-z0-9]/g, ''))
  .pipe(z.enum(['boltz2', 'boltz', 'vina', 'autodockvina']))
  .transform((m): ModelName => (m === 'vina' || m === 'autodockvina' ? 'VINA' : 'BOLTZ2'));

const commonDoc = {
  job_id: z.string().optional(),
  user_id: z.string(),
  model: modelName,
  created_at: timestamp,
  updated_at: optionalTimestamp,
  started_at: optionalTimestamp,
  completed_at: optionalTimestamp,
  organization_id: nullableString,
  shared_with_organization: z
    .boolean()
    .nullish()
    .transform((b) => b ?? false),
  idempotency_key: nullableString,
};

const jobDoc = z.looseObject({
  ...commonDoc,
  job_type: z.enum(['INDIVIDUAL', 'BATCH_CHILD', STAGED_CHILD]).optional(),
  status: jobStatus,
  name: nullableString,
  job_name: nullableString,
  input_data: inputDataDoc,
  results: resultsDoc,
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).nullish(),
  error_message: nullableString,
  batch_parent_id: nullableString,
  batch_index: nullableNumber,
  attempts: count,
  attempts_before_retry: count,
  lease_expires_at: optionalTimestamp,
  usage: usageDoc.nullish(),
  estimated_gpu_ms: count,
  gpu_ms_before_retry: count,
});

const batchDoc = z.looseObject({
  ...commonDoc,
  job_type: z.literal('BATCH_PARENT'),
  status: z
    .string()
    .transform((s) => (s.toUpperCase() === 'QUEUED' ? 'PENDING' : s.toUpperCase()))
    .pipe(z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'])),
  name: nullableString,
  batch_name: nullableString,
  input_data: inputDataDoc.partial({ ligand_smiles: true }),
  max_concurrent: nullableNumber,
  total: z.number().int().nonnegative().optional(),
  cancel_requested: z
    .boolean()
    .nullish()
    .transform((b) => b ?? false),
  webhook_url: nullableString,
  counter_shards: z.number().int().positive().optional(),
  children_state: z.enum(['staging', 'ready']).optional(),
});

export type JobDoc = z.infer<typeof jobDoc>;
export type BatchDoc = z.infer<typeof batchDoc>;

/** A stored document that does not have the layout: names the document and the field. */
export class MalformedDocumentError extends Error {
  constructor(
    readonly path: string,
    readonly field: string,
    problem: string,
  ) {
    super(`Firestore document ${path} is malformed: ${field || '(document)'}: ${problem}`);
  }
}

function parse<S extends z.ZodType>(schema: S, path: string, data: unknown): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data as z.infer<S>;
  const issue = parsed.error.issues[0]!;
  throw new MalformedDocumentError(path, issue.path.join('.'), issue.message);
}

/** Large texts of a protein, read back from `payloads` by the caller (payloads.ts). */
export type ReadText = (field: { content?: string; payload?: PayloadRef }) => string;

const date = (t: Timestamp | null): Date | null => (t === null ? null : t.toDate());
const stamp = (d: Date | null): Timestamp | null => (d === null ? null : Timestamp.fromDate(d));

export function parseJobDoc(path: string, data: unknown): JobDoc {
  return parse(jobDoc, path, data);
}

export function parseBatchDoc(path: string, data: unknown): BatchDoc {
  return parse(batchDoc, path, data);
}

/** The job a document holds; a staged child (its batch not admitted) is none. */
export function jobFromDoc(id: string, d: JobDoc, readText: ReadText): Job | null {
  if (d.job_type === STAGED_CHILD) return null;
  const kind = d.job_type ?? (d.batch_parent_id ? 'BATCH_CHILD' : 'INDIVIDUAL');
  const input = d.input_data;
  const ligand: Ligand = {
    name: input.ligand_name,
    smiles: input.ligand_smiles,
    canonicalSmiles: input.canonical_smiles ?? input.ligand_smiles,
    heavyAtoms: input.heavy_atoms,
    rotatableBonds: input.rotatable_bonds,
    structure: input.ligand_structure,
  };
  return {
    id,
    owner: d.user_id,
    kind,
    model: d.model,
    name: d.name ?? d.job_name,
    status: d.status,
    ligand,
    protein: kind === 'BATCH_CHILD' ? null : proteinFromInput(input, readText),
    parameters: parametersFromDoc(d.input_data.parameters),
    batchId: d.batch_parent_id,
    batchIndex: d.batch_index,
    result: resultFromDoc(d.results, d.model),
    error:
      d.error ??
      (d.status === 'FAILED' && d.error_message ? { code: 'LEGACY', message: d.error_message, retryable: false } : null),
    attempts: d.attempts,
    attemptsBeforeRetry: d.attempts_before_retry,
    leaseExpiresAt: date(d.lease_expires_at),
    usage: d.usage ? { runtimeMs: d.usage.runtime_ms, gpuMs: d.usage.gpu_ms, costNanoUsd: d.usage.cost_nano_usd } : null,
    estimatedGpuMs: d.estimated_gpu_ms,
    organizationId: d.organization_id,
    sharedWithOrganization: d.shared_with_organization,
    createdAt: d.created_at.toDate(),
    updatedAt: (d.updated_at ?? d.created_at).toDate(),
    startedAt: date(d.started_at),
    completedAt: date(d.completed_at),
    idempotencyKey: d.idempotency_key,
  };
}

/** The batch a parent document holds, with the counters its caller summed (batch-counters.ts). */
export function batchFromDoc(id: string, d: BatchDoc, readText: ReadText): Omit<Batch, 'counts' | 'usage' | 'total'> {
  return {
    id,
    owner: d.user_id,
    name: d.name ?? d.batch_name ?? '',
    model: d.model,
    status: d.status as BatchStatus,
    protein: proteinFromInput({ ligand_smiles: '', ...d.input_data }, readText),
    parameters: parametersFromDoc(d.input_data.parameters),
    maxConcurrent: d.max_concurrent,
    cancelRequested: d.cancel_requested,
    organizationId: d.organization_id,
    sharedWithOrganization: d.shared_with_organization,
    webhookUrl: d.webhook_url,
    createdAt: d.created_at.toDate(),
    updatedAt: (d.updated_at ?? d.created_at).toDate(),
    startedAt: date(d.started_at),
    completedAt: date(d.completed_at),
    idempotencyKey: d.idempotency_key,
  };
}

function proteinFromInput(input: z.infer<typeof inputDataDoc>, readText: ReadText): Job['protein'] & object {
  return {
    name: input.protein_name,
    sequence: input.protein_sequence,
    structure: input.protein_structure
      ? { format: input.protein_structure.format, content: readText(input.protein_structure) }
      : null,
    pocket: (input.pocket as Pocket | null | undefined) ?? null,
    msa: input.msa ? { format: input.msa.format, content: readText(input.msa) } : null,
  };
}

function parametersFromDoc(p: z.infer<typeof parametersDoc>): Parameters {
  return {
    seed: p.seed ?? null,
    diffusionSamples: p.diffusion_samples ?? null,
    samplingSteps: p.sampling_steps ?? null,
    recyclingSteps: p.recycling_steps ?? null,
    useMsaServer: p.use_msa_server ?? null,
    exhaustiveness: p.exhaustiveness ?? null,
    numPoses: p.num_poses ?? null,
  };
}

const CONFIDENCE_FIELDS = [
  'ptm',
  'iptm',
  'plddt',
  'ligandIptm',
  'proteinIptm',
  'complexIplddt',
  'complexPde',
  'complexIpde',
] as const;
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Null for no result: no `results`, or our placeholder whose every field is null. */
function resultFromDoc(r: z.infer<typeof resultsDoc>, model: ModelName): Result | null {
  if (!r || Object.values(r).every((v) => v === null)) return null;
  const details = r.affinity_details;
  const affinity =
    r.affinity === null
      ? null
      : {
          value: r.affinity,
          unit: details?.unit ?? (model === 'VINA' ? ('KCAL_PER_MOL' as const) : ('LOG10_IC50_UM' as const)),
          kcalPerMol: details ? details.kcal_per_mol : model === 'VINA' ? r.affinity : null,
          probabilityBinder: details ? details.probability_binder : r.affinity_probability,
          heads: (details?.heads ?? []).map((h) => ({ value: h.value, probabilityBinder: h.probability_binder })),
        };
  const c = r.confidence_details;
  const confidence =
    r.confidence === null
      ? null
      : {
          score: r.confidence,
          ...(Object.fromEntries(CONFIDENCE_FIELDS.map((f) => [f, c?.[snake(f)] ?? null])) as Record<
            (typeof CONFIDENCE_FIELDS)[number],
            number | null
          >),
        };
  const legacyFiles = {
    ...r.files,
    ...Object.fromEntries(Object.entries(r).filter(([k, v]) => /_(file|path)$/.test(k) && typeof v === 'string')),
  } as Record<string, string>;
  return {
    affinity,
    confidence,
    poses: (r.poses ?? []).map((p) => ({
      rank: p.rank,
      score: p.score,
      rmsdLowerBound: p.rmsd_lower_bound,
      rmsdUpperBound: p.rmsd_upper_bound,
    })),
    artifacts:
      r.artifacts?.map((a) => ({ name: a.name, key: a.key, contentType: a.content_type, sizeBytes: a.size_bytes })) ??
      Object.entries(legacyFiles).map(([name, key]) => ({
        name: key.split('/').pop() || name,
        key: key.replace(/^gs:\/\/[^/]+\//, ''),
        contentType: contentTypeOf(key),
        sizeBytes: 0,
      })),
    provenance: r.provenance_json === undefined ? {} : (JSON.parse(r.provenance_json) as Record<string, unknown>),
  };
}

function contentTypeOf(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase();
  const types: Record<string, string> = {
    cif: 'chemical/x-mmcif',
    pdb: 'chemical/x-pdb',
    sdf: 'chemical/x-mdl-sdfile',
    json: 'application/json',
    csv: 'text/csv',
    txt: 'text/plain',
  };
  return types[ext ?? ''] ?? 'application/octet-stream';
}

/** The GPU milliseconds the quota counts for a job (domain/quota.ts, `QuotaUsage.gpuMsThisMonth`). */
export function gpuMsCounted(status: JobStatus, usage: Usage | null, estimatedGpuMs: number, gpuMsBeforeRetry: number): number {
  const recorded = usage?.gpuMs ?? 0;
  return isTerminal(status) ? recorded : Math.max(recorded, gpuMsBeforeRetry + estimatedGpuMs);
}

/** Stored form of large protein texts: inline, or a payload reference. */
export type StoredText = { content: string } | { payload: PayloadRef };

/** The fields of a job that change after it is created (every transition writes them all). */
export function jobStateFields(job: Job, gpuMsBeforeRetry: number): Record<string, unknown> {
  return {
    status: job.status.toLowerCase(),
    results: resultToDoc(job.result),
    error: job.error,
    attempts: job.attempts,
    attempts_before_retry: job.attemptsBeforeRetry,
    lease_expires_at: stamp(job.leaseExpiresAt),
    usage: job.usage ? { runtime_ms: job.usage.runtimeMs, gpu_ms: job.usage.gpuMs, cost_nano_usd: job.usage.costNanoUsd } : null,
    gpu_ms_before_retry: gpuMsBeforeRetry,
    gpu_ms_counted: gpuMsCounted(job.status, job.usage, job.estimatedGpuMs, gpuMsBeforeRetry),
    updated_at: stamp(job.updatedAt),
    started_at: stamp(job.startedAt),
    completed_at: stamp(job.completedAt),
  };
}

/** A whole job document; `protein` holds its large texts already stored (payloads.ts). */
export function jobToDoc(job: Job, protein: ProteinTexts | null, staged = false): Record<string, unknown> {
  return {
    job_id: job.id,
    job_type: staged ? STAGED_CHILD : job.kind,
    user_id: job.owner,
    model: job.model.toLowerCase(),
    name: job.name,
    created_at: stamp(job.createdAt),
    input_data: {
      ...proteinInput(job.protein, protein),
      ligand_smiles: job.ligand.smiles,
      ligand_name: job.ligand.name,
      canonical_smiles: job.ligand.canonicalSmiles,
      heavy_atoms: job.ligand.heavyAtoms,
      rotatable_bonds: job.ligand.rotatableBonds,
      ligand_structure: job.ligand.structure,
      parameters: parametersToDoc(job.parameters),
    },
    batch_parent_id: job.batchId,
    batch_index: job.batchIndex,
    estimated_gpu_ms: job.estimatedGpuMs,
    organization_id: job.organizationId,
    shared_with_organization: job.sharedWithOrganization,
    idempotency_key: job.idempotencyKey,
    ...jobStateFields(job, 0),
  };
}

/** A batch parent document (its counters live in shards: batch-counters.ts). */
export function batchToDoc(batch: Batch, protein: ProteinTexts, shards: number): Record<string, unknown> {
  return {
    job_id: batch.id,
    job_type: 'BATCH_PARENT',
    status: batch.status.toLowerCase(),
    user_id: batch.owner,
    model: batch.model.toLowerCase(),
    name: batch.name,
    created_at: stamp(batch.createdAt),
    updated_at: stamp(batch.updatedAt),
    started_at: stamp(batch.startedAt),
    completed_at: stamp(batch.completedAt),
    input_data: { ...proteinInput(batch.protein, protein), parameters: parametersToDoc(batch.parameters) },
    max_concurrent: batch.maxConcurrent,
    total: batch.total,
    cancel_requested: batch.cancelRequested,
    webhook_url: batch.webhookUrl,
    organization_id: batch.organizationId,
    shared_with_organization: batch.sharedWithOrganization,
    idempotency_key: batch.idempotencyKey,
    counter_shards: shards,
  };
}

/** A protein's structure and MSA as stored: inline or in `payloads`. */
export interface ProteinTexts {
  structure: StoredText | null;
  msa: StoredText | null;
}

function proteinInput(p: Job['protein'], texts: ProteinTexts | null): Record<string, unknown> {
  if (p === null) return { protein_sequence: null };
  return {
    protein_sequence: p.sequence,
    protein_name: p.name,
    protein_structure: p.structure && texts?.structure ? { format: p.structure.format, ...texts.structure } : null,
    pocket: p.pocket,
    msa: p.msa && texts?.msa ? { format: p.msa.format, ...texts.msa } : null,
  };
}

function parametersToDoc(p: Parameters): Record<string, unknown> {
  return {
    seed: p.seed,
    diffusion_samples: p.diffusionSamples,
    sampling_steps: p.samplingSteps,
    recycling_steps: p.recyclingSteps,
    use_msa_server: p.useMsaServer,
    exhaustiveness: p.exhaustiveness,
    num_poses: p.numPoses,
  };
}

/**
 * `results.affinity` and `results.confidence` are always written (null without a value), so the
 * ranked lists find the jobs without one by `== null`; the rest keeps every nested field.
 * Provenance is JSON text: it may hold arrays of arrays, which Firestore does not store.
 */
function resultToDoc(r: Result | null): Record<string, unknown> {
  if (r === null) return { affinity: null, confidence: null };
  return {
    affinity: r.affinity?.value ?? null,
    confidence: r.confidence?.score ?? null,
    ...(r.affinity && {
      affinity_details: {
        unit: r.affinity.unit,
        kcal_per_mol: r.affinity.kcalPerMol,
        probability_binder: r.affinity.probabilityBinder,
        heads: r.affinity.heads.map((h) => ({ value: h.value, probability_binder: h.probabilityBinder })),
      },
    }),
    ...(r.confidence && {
      confidence_details: Object.fromEntries(CONFIDENCE_FIELDS.map((f) => [snake(f), r.confidence![f]])),
    }),
    poses: r.poses.map((p) => ({
      rank: p.rank,
      score: p.score,
      rmsd_lower_bound: p.rmsdLowerBound,
      rmsd_upper_bound: p.rmsdUpperBound,
    })),
    artifacts: r.artifacts.map((a) => ({ name: a.name, key: a.key, content_type: a.contentType, size_bytes: a.sizeBytes })),
    provenance_json: JSON.stringify(r.provenance),
  };
}
