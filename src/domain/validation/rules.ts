import { BOLTZ_MAX_RESIDUES } from './limits.js';

/**
 * What this deployment can run, from its configuration. Checked at submit so a user hears
 * "too long for the GPU" or "no MSA server here" at once, not after a GPU run.
 */
export interface SubmissionRules {
  /** BOLTZ2 residues that fit this deployment's GPU. */
  boltzMaxResidues: number;
  /** Whether an MSA server is configured (`OMTX_MSA_SERVER_URL`). */
  msaServer: boolean;
  /** The worker's BOLTZ2 shard time limit: one ligand must fit it. */
  boltzShardTimeLimitSeconds: number;
}

/** An L4 and no MSA server: sending sequences to a third-party server is a choice a lab makes, never a default. */
export const DEFAULT_RULES: SubmissionRules = {
  boltzMaxResidues: BOLTZ_MAX_RESIDUES,
  msaServer: false,
  boltzShardTimeLimitSeconds: 1_500,
};
