import type { Batch, Job, Ligand, Parameters, Protein, Result } from '../../domain/job.js';
import { emptyCounts, noUsage } from '../../domain/job.js';

/**
 * Builders of Job and Batch records for the port contract suites: plain data, every field
 * set to something a store must keep exactly (dates with milliseconds, nested JSON), so a
 * round trip through any adapter can be compared with `toEqual`.
 */

/** The suites' clock starts here; tests pass later times explicitly, never the wall clock. */
export const T0 = new Date('2025-03-01T12:00:00.123Z');

export function at(msAfterT0: number): Date {
  return new Date(T0.getTime() + msAfterT0);
}

let sequence = 0;
const run = Math.random().toString(36).slice(2, 8);

/** A fresh id, unique within the process and across runs on a kept data directory. */
export function newId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${run}-${String(sequence).padStart(6, '0')}`;
}

export function buildProtein(overrides: Partial<Protein> = {}): Protein {
  return {
    name: 'CDK2',
    sequence:
      'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKELNHPNIVKLLDVIHTENKLYLVFEFLHQDLKKFMDASALTGIPLPLIKSYLFQLLQGLAFCHSHRVLHRDLKPQNLLINTEGAIKLADFGLARAFGVPVRTYTHEVVTLWYRAPEILLGCKYYSTAVDIWSLGCIFAEMVTRRALFPGDSEIDQLFRIFRTLGTPDEVVWPGVTSMPDYKPSFPKWARQDFSKVVPPLDEDGRSLLSQMLHYDPNKRISAKAALAHPFFQDVTKPVPHLRL',
    structure: {
      format: 'PDB',
      content: 'ATOM      1  N   MET A   1      11.104   6.134  -6.504  1.00  0.00           N\nEND\n',
    },
    pocket: { center: [1.5, -2.25, 10], size: [20, 20, 22.5] },
    msa: null,
    ...overrides,
  };
}

export function buildLigand(overrides: Partial<Ligand> = {}): Ligand {
  return {
    name: 'imatinib',
    smiles: 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1',
    canonicalSmiles: 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1',
    heavyAtoms: 37,
    rotatableBonds: 7,
    structure: null,
    ...overrides,
  };
}

export function buildParameters(overrides: Partial<Parameters> = {}): Parameters {
  return {
    seed: 42,
    diffusionSamples: 5,
    samplingSteps: 200,
    recyclingSteps: 3,
    useMsaServer: false,
    exhaustiveness: null,
    numPoses: null,
    ...overrides,
  };
}

/** A PENDING individual job created at T0. */
export function buildJob(overrides: Partial<Job> = {}): Job {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: newId('job'),
    owner: 'alice',
    kind: 'INDIVIDUAL',
    model: 'BOLTZ2',
    name: 'imatinib vs CDK2',
    status: 'PENDING',
    ligand: buildLigand(),
    protein: buildProtein(),
    parameters: buildParameters(),
    batchId: null,
    batchIndex: null,
    result: null,
    error: null,
    attempts: 0,
    attemptsBeforeRetry: 0,
    leaseExpiresAt: null,
    usage: null,
    estimatedGpuMs: 0,
    organizationId: null,
    sharedWithOrganization: false,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    completedAt: null,
    idempotencyKey: null,
    ...overrides,
  };
}

/**
 * A PENDING batch with `size` PENDING children (indexes 0…size-1, null protein: they share
 * the batch's), its counters saying so.
 */
export function buildBatch(size: number, overrides: Partial<Batch> = {}): { batch: Batch; children: Job[] } {
  const createdAt = overrides.createdAt ?? T0;
  const batch: Batch = {
    id: newId('batch'),
    owner: 'alice',
    name: 'CDK2 screen',
    model: 'BOLTZ2',
    status: 'PENDING',
    protein: buildProtein(),
    parameters: buildParameters(),
    maxConcurrent: null,
    total: size,
    counts: { ...emptyCounts(), pending: size },
    cancelRequested: false,
    usage: noUsage(),
    organizationId: null,
    sharedWithOrganization: false,
    webhookUrl: null,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    completedAt: null,
    idempotencyKey: null,
    ...overrides,
  };
  const children = Array.from({ length: size }, (_, index) =>
    buildJob({
      id: `${batch.id}-${String(index).padStart(6, '0')}`,
      owner: batch.owner,
      organizationId: batch.organizationId,
      sharedWithOrganization: batch.sharedWithOrganization,
      kind: 'BATCH_CHILD',
      model: batch.model,
      name: null,
      protein: null,
      parameters: batch.parameters,
      ligand: buildLigand({ name: `ligand ${index}`, smiles: `C${'C'.repeat(index % 20)}O` }),
      batchId: batch.id,
      batchIndex: index,
      createdAt,
    }),
  );
  return { batch, children };
}

/** A result with every nested field set; `affinity`/`confidence` null leave them out. */
export function buildResult(scores: { affinity?: number | null; confidence?: number | null } = {}): Result {
  const affinity = scores.affinity === undefined ? -1.25 : scores.affinity;
  const confidence = scores.confidence === undefined ? 0.87 : scores.confidence;
  return {
    affinity:
      affinity === null
        ? null
        : { value: affinity, unit: 'LOG10_IC50_UM', kcalPerMol: affinity * 1.364, probabilityBinder: 0.91, heads: [] },
    confidence:
      confidence === null
        ? null
        : {
            score: confidence,
            ptm: 0.8,
            iptm: 0.75,
            plddt: 88.5,
            ligandIptm: 0.74,
            proteinIptm: 0,
            complexIplddt: 0.81,
            complexPde: 0.42,
            complexIpde: 0.61,
          },
    poses: [
      { rank: 1, score: -9.1, rmsdLowerBound: 0, rmsdUpperBound: 0 },
      { rank: 2, score: -8.4, rmsdLowerBound: 1.2, rmsdUpperBound: 2.75 },
    ],
    artifacts: [{ name: 'structure.cif', key: 'jobs/x/structure.cif', contentType: 'chemical/x-mmcif', sizeBytes: 123_456 }],
    provenance: { model: 'boltz-2', version: '2.1.1', seed: 42, nested: { list: [1, 'two', null, { three: true }] } },
  };
}
