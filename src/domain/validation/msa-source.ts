import type { ModelName, Parameters, Protein } from '../job.js';
import type { Problems } from './problems.js';
import type { SubmissionRules } from './rules.js';

/**
 * Decides where a BOLTZ2 target's MSA comes from, and records it in `useMsaServer`: the
 * uploaded one (`protein.msa`), the MSA server (unset or true, when one is configured), or
 * single-sequence mode, only when the user asks for it with `useMsaServer: false` — it is
 * markedly less accurate, so it is never a silent fallback.
 */
export function resolveMsaSource(
  problems: Problems,
  model: ModelName,
  protein: Protein,
  parameters: Parameters,
  rules: SubmissionRules,
): Parameters {
  if (model !== 'BOLTZ2') return parameters;
  const asked = parameters.useMsaServer;
  if (protein.msa !== null) {
    if (asked === true) {
      problems.add(
        ['input', 'parameters', 'useMsaServer'],
        'must not be true when input.protein.msa is given: the uploaded MSA is used',
      );
    }
    return { ...parameters, useMsaServer: false };
  }
  if (asked === false) return parameters;
  if (!rules.msaServer) {
    problems.add(
      asked === true ? ['input', 'parameters', 'useMsaServer'] : ['input', 'protein', 'msa'],
      'BOLTZ2 needs the protein’s MSA and this deployment has no MSA server (OMTX_MSA_SERVER_URL): upload one in ' +
        'input.protein.msa (A3M or Boltz CSV), or set input.parameters.useMsaServer to false for single-sequence mode (less accurate)',
    );
  }
  return { ...parameters, useMsaServer: true };
}
