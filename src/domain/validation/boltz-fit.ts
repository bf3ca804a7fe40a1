import { BOLTZ_L4_TIMING, SHARD_TIME_SAFETY, boltzSecondsPerLigand } from '../cost.js';
import type { ModelName, Parameters, Protein } from '../job.js';
import type { Problems } from './problems.js';
import type { SubmissionRules } from './rules.js';

/**
 * A BOLTZ2 ligand must fit a shard: Boltz writes affinities only after every structure, so a
 * shard killed at the worker's time limit finishes nothing, and its retry would be killed the
 * same way. Refused at submit when even one ligand (and the model load) would not fit the
 * planned share of the limit, by the time model of `cost.ts`.
 */
export function checkBoltzFitsShard(
  problems: Problems,
  model: ModelName,
  protein: Protein,
  parameters: Parameters,
  rules: SubmissionRules,
): void {
  if (model !== 'BOLTZ2' || protein.sequence === null) return;
  const seconds = BOLTZ_L4_TIMING.modelLoadSeconds + boltzSecondsPerLigand(parameters, protein.sequence.length);
  const allowed = SHARD_TIME_SAFETY * rules.boltzShardTimeLimitSeconds;
  if (seconds <= allowed) return;
  problems.add(
    ['input', 'parameters'],
    `one ligand with these parameters against ${protein.sequence.length} residues takes about ${Math.round(seconds)} s on this ` +
      `deployment's GPU (model load included), more than the ${Math.round(allowed)} s a shard may plan for: lower ` +
      'diffusionSamples, samplingSteps or recyclingSteps, or shorten the protein',
  );
}
