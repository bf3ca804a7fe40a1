import type { ModelName, Protein } from '../job.js';
import type { ProteinDraft } from '../submission.js';
import { optionalName } from './fields.js';
import { MODEL_NEEDS } from './model-needs.js';
import { validatePocket } from './pocket.js';
import type { FieldPath, Problems } from './problems.js';
import { validateSequence } from './sequence.js';
import { validateStructure } from './structure.js';

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

  const present = { sequence, structure, pocket };
  for (const { field, why } of needs.protein) {
    const reportedAlready = problems.list.slice(before).some((p) => p.path[path.length] === field);
    if (present[field] === null && !reportedAlready) {
      problems.add([...path, field], `is required for ${model}: ${why}`);
    }
  }
  return problems.list.length > before ? null : { name, sequence, structure, pocket, msa: null };
}
