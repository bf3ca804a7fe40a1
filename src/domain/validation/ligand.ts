import type { Chemistry, ParsedMolecule } from '../chemistry.js';
import type { Ligand, ModelName } from '../job.js';
import type { LigandDraft } from '../submission.js';
import { optionalName } from './fields.js';
import { MAX_HEAVY_ATOMS, MAX_ROTATABLE_BONDS, MAX_SMILES_LENGTH } from './limits.js';
import { MODEL_NEEDS } from './model-needs.js';
import { type FieldPath, type Problems, quote } from './problems.js';
import { validateStructure } from './structure.js';

/** Parses a SMILES; a batch passes a memoizing one so repeated SMILES are parsed once. */
export type ParseSmiles = Chemistry['parseSmiles'];

/** Fragments quoted in a "strip the salts" message. */
const QUOTED_FRAGMENTS = 3;

/**
 * One ligand: a SMILES RDKit parses into exactly one molecule within the size limits, an
 * optional name, and an optional prepared 3D structure where the model reads one. The
 * record gets RDKit's canonical SMILES and counts.
 */
export function validateLigand(
  problems: Problems,
  path: FieldPath,
  model: ModelName,
  parse: ParseSmiles,
  draft: LigandDraft,
): Ligand | null {
  const before = problems.list.length;
  const name = optionalName(problems, [...path, 'name'], draft.name);
  const smiles = typeof draft.smiles === 'string' ? draft.smiles.trim() : '';
  const molecule = checkSmiles(problems, [...path, 'smiles'], model, parse, smiles);
  const structure = ligandStructure(problems, [...path, 'structure'], model, draft);

  if (problems.list.length > before || molecule === null) return null;
  return {
    name,
    smiles,
    canonicalSmiles: molecule.canonicalSmiles,
    heavyAtoms: molecule.heavyAtoms,
    rotatableBonds: molecule.rotatableBonds,
    structure,
  };
}

function checkSmiles(
  problems: Problems,
  path: FieldPath,
  model: ModelName,
  parse: ParseSmiles,
  smiles: string,
): ParsedMolecule | null {
  if (smiles === '') {
    // RDKit reads "" as a valid molecule with no atoms; it is never what the user meant.
    problems.add(path, 'must not be empty');
    return null;
  }
  if (smiles.length > MAX_SMILES_LENGTH) {
    // Not parsed: the length alone rejects it, and long strings are the slow ones.
    problems.add(path, `must be at most ${MAX_SMILES_LENGTH} characters, got ${smiles.length}`);
    return null;
  }
  if (/\s/.test(smiles)) {
    problems.add(path, 'must not contain spaces or line breaks: one SMILES per ligand, its name goes in "name"');
    return null;
  }
  const molecule = parse(smiles);
  if (molecule === null) {
    problems.add(
      path,
      `${quote(smiles)} is not a valid SMILES: RDKit cannot read it (check brackets, ring-closure digits, aromaticity and valences)`,
    );
    return null;
  }

  const before = problems.list.length;
  if (molecule.fragments !== 1) {
    const parts = molecule.canonicalSmiles.split('.');
    const shown = parts.slice(0, QUOTED_FRAGMENTS).join(', ');
    const more = parts.length > QUOTED_FRAGMENTS ? ` and ${parts.length - QUOTED_FRAGMENTS} more` : '';
    problems.add(
      path,
      `must be exactly one molecule, found ${molecule.fragments} disconnected fragments (${shown}${more}); ` +
        'strip salts, counter-ions and solvents and keep the parent compound',
    );
  }
  if (molecule.heavyAtoms < 1 || molecule.heavyAtoms > MAX_HEAVY_ATOMS) {
    problems.add(path, `must have between 1 and ${MAX_HEAVY_ATOMS} heavy atoms, got ${molecule.heavyAtoms}`);
  }
  if (MODEL_NEEDS[model].limitsRotatableBonds && molecule.rotatableBonds > MAX_ROTATABLE_BONDS) {
    problems.add(
      path,
      `must have at most ${MAX_ROTATABLE_BONDS} rotatable bonds for ${model} (its torsion tree limit), got ${molecule.rotatableBonds}`,
    );
  }
  return problems.list.length === before ? molecule : null;
}

function ligandStructure(problems: Problems, path: FieldPath, model: ModelName, draft: LigandDraft) {
  if (!draft.structure) return null;
  const formats = MODEL_NEEDS[model].ligandStructureFormats;
  if (formats === null) {
    problems.add(path, `is not accepted by ${model}: it builds the ligand from the SMILES; remove the structure`);
    return null;
  }
  return validateStructure(problems, path, draft.structure, formats, ` (prepared ligands for ${model})`);
}
