/**
 * Every bound a submission is checked against, in one place so the API docs, the error
 * messages and the tests quote the same numbers.
 */

/** Characters in a ligand SMILES. Longer strings are not drug-like ligands (and parse slowly). */
export const MAX_SMILES_LENGTH = 1_000;
/** Heavy (non-hydrogen) atoms in one ligand: Boltz-2's ligand limit, applied to every model. */
export const MAX_HEAVY_ATOMS = 128;
/** Rotatable bonds (RDKit strict NumRotatableBonds): AutoDock's torsion tree holds at most 32 active torsions. */
export const MAX_ROTATABLE_BONDS = 32;

/** Characters in a job, batch, ligand or protein name. */
export const MAX_NAME_LENGTH = 200;

/** Residues in a protein sequence, counted after whitespace is removed. */
export const MIN_SEQUENCE_LENGTH = 10;
export const MAX_SEQUENCE_LENGTH = 5_000;

/**
 * Bytes (UTF-8) of an uploaded MSA. Boltz reads at most 16,384 rows: a few MiB for most
 * proteins. Below the request body limit (32 MiB) so an oversized file is named, not refused
 * as a whole request.
 */
export const MAX_MSA_BYTES = 16 * 1024 * 1024; // 16 MiB

/**
 * BOLTZ2 residues that fit an L4's 24 GB with a ligand and affinity: Boltz-2's memory grows
 * with the square of the tokens, and ~1,300 is where an L4 runs out. Configurable
 * (`OMTX_BOLTZ_MAX_RESIDUES`) for larger GPUs.
 */
export const BOLTZ_MAX_RESIDUES = 1_300;

/** Bytes (UTF-8) of one structure file's content. */
export const MAX_STRUCTURE_BYTES = 20 * 1024 * 1024; // 20 MiB

/** Å; each edge of the Vina search box. Larger boxes make docking slow and unreliable. */
export const MAX_POCKET_EDGE = 30;

/** Ligands in one batch. */
export const MAX_BATCH_LIGANDS = 100_000;
/** Children of one batch running at once. */
export const MAX_CONCURRENT = 1_000;

/** Inclusive integer ranges of the prediction parameters. */
export const PARAMETER_RANGES = {
  /** Random seed; any non-negative 32-bit signed integer. */
  seed: { min: 0, max: 2 ** 31 - 1 },
  /** Boltz-2 `--diffusion_samples` (default 1; 5 for extensive sampling). */
  diffusionSamples: { min: 1, max: 25 },
  /** Boltz-2 `--sampling_steps` (default 200). */
  samplingSteps: { min: 1, max: 1_000 },
  /** Boltz-2 `--recycling_steps` (default 3; 10 is the AlphaFold3-like setting). */
  recyclingSteps: { min: 0, max: 20 },
  /** Vina `--exhaustiveness` (default 8). */
  exhaustiveness: { min: 1, max: 64 },
  /** Vina `--num_modes` (default 9). */
  numPoses: { min: 1, max: 20 },
} as const;
