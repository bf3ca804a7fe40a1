import type { ModelName, Protein } from '../job.js';
import type { ProteinDraft } from '../submission.js';
import { optionalName } from './fields.js';
import { MODEL_NEEDS } from './model-needs.js';
import { validatePocket } from './pocket.js';
import type { FieldPath, Problems } from './problems.js';
import { validateSequence } from './sequence.js';
import { validateStructure } from './structure.js';
import { validateMsa } from './msa.js';
import type { SubmissionRules } from './rules.js';

/**
 * The target protein: each given field is checked, then the fields `model` needs must be
 * there. A field given but invalid is reported once, for what is wrong with it, not again
 * as missing.
 */
export function validateProtein(
  problems: Problems,
  path: FieldPath,
  model: ModelName,
  draft: ProteinDraft | null | undefined,
  rules: SubmissionRules,
): Protein | null {
  const needs = MODEL_NEEDS[model];
  const before = problems.list.length;
  const given = draft ?? {};

  const name = optionalName(problems, [...path, 'name'], given.name);
  const sequence = validateSequence(problems, [...path, 'sequence'], given.sequence);
  const structure = given.structure
    ? validateStructure(problems, [...path, 'structure'], given.structure, needs.receptorFormats, needs.receptorFormatsWhy)
    : null;
  const pocket = given.pocket ? validatePocket(problems, [...path, 'pocket'], given.pocket) : null;
  if (model === 'BOLTZ2' && sequence !== null && sequence.length > rules.boltzMaxResidues) {
    problems.add(
      [...path, 'sequence'],
      `has ${sequence.length} residues; BOLTZ2 on this deployment's GPU takes at most ${rules.boltzMaxResidues} (a longer chain runs out of GPU memory): predict a domain instead`,
    );
  }
  let msa = null;
  if (given.msa && model !== 'BOLTZ2') {
    problems.add([...path, 'msa'], `is read only by BOLTZ2; ${model} would ignore it`);
  } else if (given.msa) {
    msa = validateMsa(problems, [...path, 'msa'], given.msa, sequence);
  }

  const present = { sequence, structure, pocket };
  for (const { field, why } of needs.protein) {
    const reportedAlready = problems.list.slice(before).some((p) => p.path[path.length] === field);
    if (present[field] === null && !reportedAlready) {
      problems.add([...path, field], `is required for ${model}: ${why}`);
    }
  }
  return problems.list.length > before ? null : { name, sequence, structure, pocket, msa };
}
