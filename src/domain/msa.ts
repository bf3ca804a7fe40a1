import type { ModelName, Parameters, Protein } from './job.js';

/**
 * Where a BOLTZ2 target's MSA comes from. A screen needs it once: the dispatcher stores it as
 * an artifact of the batch (or of the individual job) before any shard is sent, and every
 * ligand input of every shard points at that one file.
 */
export type MsaPlan =
  /** The user uploaded it with the protein. */
  | { kind: 'UPLOADED'; fileName: MsaFileName }
  /** Fetched from the configured MSA server, kept in Boltz's CSV format. */
  | { kind: 'SERVER'; fileName: MsaFileName }
  /** Single-sequence mode (Boltz's `msa: empty`), chosen with `useMsaServer: false`. */
  | { kind: 'EMPTY' };

export type MsaFileName = `${string}.a3m` | `${string}.csv`;

/** The protein is chain A in every BOLTZ2 input, so its MSA file is named after it. */
const CHAIN = 'A';

/** Null for models that read no MSA (VINA). */
export function msaPlanOf(model: ModelName, protein: Protein, parameters: Parameters): MsaPlan | null {
  if (model !== 'BOLTZ2') return null;
  if (protein.msa) return { kind: 'UPLOADED', fileName: `${CHAIN}.${protein.msa.format === 'A3M' ? 'a3m' : 'csv'}` };
  if (parameters.useMsaServer === false) return { kind: 'EMPTY' };
  return { kind: 'SERVER', fileName: `${CHAIN}.csv` };
}

/** The MSA's key in the BlobStore: `batches/{batch}/msa/…` for a screen, `jobs/{job}/msa/…` alone. */
export function msaKey(owner: { batchId: string } | { jobId: string }, fileName: MsaFileName): string {
  return 'batchId' in owner ? `batches/${owner.batchId}/msa/${fileName}` : `jobs/${owner.jobId}/msa/${fileName}`;
}
