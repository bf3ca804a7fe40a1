import type { Chemistry, ParsedMolecule } from '../chemistry.js';
import type { InvalidField } from '../errors.js';
import type { Ligand, Parameters, Protein } from '../job.js';
import type { BatchDraft } from '../submission.js';
import { optionalInteger, requiredName } from './fields.js';
import { validateLigand, type ParseSmiles } from './ligand.js';
import { MAX_BATCH_LIGANDS, MAX_CONCURRENT } from './limits.js';
import { validateParameters } from './parameters.js';
import { Problems } from './problems.js';
import { validateProtein } from './protein.js';
import { resolveMsaSource } from './msa-source.js';
import { checkBoltzFitsShard } from './boltz-fit.js';
import { DEFAULT_RULES, type SubmissionRules } from './rules.js';

/** What is wrong with one ligand of a batch; `index` is its position in `input.ligands`. */
export interface LigandProblem {
  index: number;
  name: string | null;
  smiles: string;
  invalid: InvalidField[];
}

export interface ValidBatch {
  protein: Protein;
  parameters: Parameters;
  name: string;
  maxConcurrent: number | null;
  /** The valid ligands only, each with its original index in `input.ligands`. */
  ligands: { index: number; ligand: Ligand }[];
}

export interface BatchValidation {
  /** Problems of the batch itself (everything except per-ligand ones); empty when usable. */
  invalid: InvalidField[];
  /** Per-ligand problems: the caller rejects the batch (REJECT) or drops these (SKIP). */
  ligandProblems: LigandProblem[];
  /** Present exactly when `invalid` is empty, whatever `ligandProblems` holds. */
  value?: ValidBatch;
}

/**
 * Checks a `submitBatch` input in full. Ligands may share names and SMILES: a screen may
 * repeat a compound on purpose (replicates), and names only label results. Each distinct
 * SMILES is parsed once.
 */
export function validateBatch(chem: Chemistry, draft: BatchDraft, rules: SubmissionRules = DEFAULT_RULES): BatchValidation {
  const problems = new Problems();
  const name = requiredName(problems, ['input', 'name'], draft.name);
  const protein = validateProtein(problems, ['input', 'protein'], draft.model, draft.protein, rules);
  const given = validateParameters(problems, ['input', 'parameters'], draft.parameters);
  const parameters = protein ? resolveMsaSource(problems, draft.model, protein, given, rules) : given;
  if (protein) checkBoltzFitsShard(problems, draft.model, protein, parameters, rules);
  const maxConcurrent = optionalInteger(problems, ['input', 'maxConcurrent'], draft.maxConcurrent, {
    min: 1,
    max: MAX_CONCURRENT,
  });

  const drafts = Array.isArray(draft.ligands) ? draft.ligands : [];
  if (drafts.length < 1 || drafts.length > MAX_BATCH_LIGANDS) {
    problems.add(['input', 'ligands'], `must hold between 1 and ${MAX_BATCH_LIGANDS} ligands, got ${drafts.length}`);
    // An oversized batch is refused whole: parsing its ligands would only cost time.
    return { invalid: problems.list, ligandProblems: [] };
  }

  const parse = memoize((s) => chem.parseSmiles(s));
  const ligandProblems: LigandProblem[] = [];
  const ligands: ValidBatch['ligands'] = [];
  drafts.forEach((ligandDraft, index) => {
    const own = new Problems();
    const ligand = validateLigand(own, ['input', 'ligands', index], draft.model, parse, ligandDraft);
    if (ligand !== null) ligands.push({ index, ligand });
    else {
      const ligandName = typeof ligandDraft.name === 'string' && ligandDraft.name.trim() !== '' ? ligandDraft.name : null;
      ligandProblems.push({ index, name: ligandName, smiles: String(ligandDraft.smiles ?? ''), invalid: own.list });
    }
  });

  if (!problems.empty || protein === null) return { invalid: problems.list, ligandProblems };
  return { invalid: [], ligandProblems, value: { protein, parameters, name, maxConcurrent, ligands } };
}

function memoize(parse: ParseSmiles): ParseSmiles {
  const seen = new Map<string, ParsedMolecule | null>();
  return (smiles) => {
    let molecule = seen.get(smiles);
    if (molecule === undefined) {
      molecule = parse(smiles);
      seen.set(smiles, molecule);
    }
    return molecule;
  };
}
