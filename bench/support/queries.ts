/** The operations the benchmarks send, identical for the hub and the baseline. */

const JOB_FIELDS = `id kind model name status attempts createdAt startedAt completedAt
  ligand { name smiles canonicalSmiles heavyAtoms rotatableBonds }
  protein { name sequence }
  parameters { seed diffusionSamples samplingSteps recyclingSteps useMsaServer }
  result { affinity { value unit kcalPerMol probabilityBinder } confidence { score ptm iptm plddt } }`;

export const JOB_QUERY = `query Job($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`;

export const JOBS_QUERY = `query Jobs($first: Int, $after: String) {
  jobs(first: $first, after: $after) {
    edges { cursor node { ${JOB_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const BATCH_PROGRESS_SUBSCRIPTION = `subscription Progress($id: ID!) {
  batchProgress(id: $id) {
    progress { total completed running percent }
    changedJobs { id status batchIndex }
  }
}`;
