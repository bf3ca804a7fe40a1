import type { ModelName, MsaFormat, StructureFormat } from './job.js';

/**
 * Submissions as they arrive, before validation: every field may be wrong. Validation turns
 * them into the records of `job.ts` or lists every problem at once.
 */
export interface StructureDraft {
  format: StructureFormat;
  content: string;
}

export interface PocketDraft {
  center: number[];
  size: number[];
}

export interface MsaDraft {
  format: MsaFormat;
  content: string;
}

export interface ProteinDraft {
  name?: string | null;
  sequence?: string | null;
  structure?: StructureDraft | null;
  pocket?: PocketDraft | null;
  msa?: MsaDraft | null;
}

export interface LigandDraft {
  smiles: string;
  name?: string | null;
  structure?: StructureDraft | null;
}

export interface ParametersDraft {
  seed?: number | null;
  diffusionSamples?: number | null;
  samplingSteps?: number | null;
  recyclingSteps?: number | null;
  useMsaServer?: boolean | null;
  exhaustiveness?: number | null;
  numPoses?: number | null;
}

export type InvalidLigandPolicy = 'REJECT' | 'SKIP';

export interface PredictionDraft {
  model: ModelName;
  protein: ProteinDraft;
  ligand: LigandDraft;
  parameters?: ParametersDraft | null;
  name?: string | null;
  idempotencyKey?: string | null;
}

export interface BatchDraft {
  model: ModelName;
  name: string;
  protein: ProteinDraft;
  ligands: LigandDraft[];
  parameters?: ParametersDraft | null;
  maxConcurrent?: number | null;
  onInvalidLigand?: InvalidLigandPolicy | null;
  idempotencyKey?: string | null;
  /** An http(s) URL the batch's terminal state is POSTed to. */
  webhookUrl?: string | null;
}
