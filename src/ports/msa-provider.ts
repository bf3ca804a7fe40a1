/**
 * Multiple sequence alignments from an MSA server (ColabFold's MMseqs2 API, which Boltz's
 * own `--use_msa_server` calls). A screen asks once per target, never once per ligand.
 */
export interface MsaProvider {
  /**
   * The unpaired MSA of one protein chain in Boltz's CSV format (`key,sequence`, the query
   * first, every key -1), as `boltz predict --use_msa_server` would have written it.
   * Throws {@link MsaServerError}.
   */
  search(sequence: string, signal?: AbortSignal): Promise<string>;
}

/** The server refused or failed; `retryable` false when the same sequence will fail again. */
export class MsaServerError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'MsaServerError';
  }
}
