import type { InvalidField } from '../errors.js';
import type { Chemistry } from '../chemistry.js';
import type { Ligand, Parameters, Protein } from '../job.js';
import type { PredictionDraft } from '../submission.js';
import { optionalName } from './fields.js';
import { validateLigand } from './ligand.js';
import { validateParameters } from './parameters.js';
import { Problems } from './problems.js';
import { validateProtein } from './protein.js';
import { resolveMsaSource } from './msa-source.js';
import { checkBoltzFitsShard } from './boltz-fit.js';
import { DEFAULT_RULES, type SubmissionRules } from './rules.js';

export interface ValidPrediction {
  protein: Protein;
  ligand: Ligand;
  parameters: Parameters;
  name: string | null;
}

export interface PredictionValidation {
  /** Every problem found, each with its path from `"input"`; empty when the draft is valid. */
  invalid: InvalidField[];
  /** The records to store; present exactly when `invalid` is empty. */
  value?: ValidPrediction;
}

/** Checks a `submitPrediction` input in full and lists every problem at once. */
export function validatePrediction(
  chem: Chemistry,
  draft: PredictionDraft,
  rules: SubmissionRules = DEFAULT_RULES,
): PredictionValidation {
  const problems = new Problems();
  const name = optionalName(problems, ['input', 'name'], draft.name);
  const protein = validateProtein(problems, ['input', 'protein'], draft.model, draft.protein, rules);
  const ligand = validateLigand(problems, ['input', 'ligand'], draft.model, (s) => chem.parseSmiles(s), draft.ligand);
  const given = validateParameters(problems, ['input', 'parameters'], draft.parameters);
  const parameters = protein ? resolveMsaSource(problems, draft.model, protein, given, rules) : given;
  if (protein) checkBoltzFitsShard(problems, draft.model, protein, parameters, rules);

  if (!problems.empty || protein === null || ligand === null) return { invalid: problems.list };
  return { invalid: [], value: { protein, ligand, parameters, name } };
}
