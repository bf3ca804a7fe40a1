import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pocket, Structure } from '../../../../src/domain/job.js';
import { inputFailure } from '../failure.js';
import { isHydrogen, parseAtoms, type PdbqtAtom } from './pdbqt.js';
import { obabel, obabelComplaint, type ToolContext } from './tools.js';

/** A receptor ready for Vina, prepared once per shard. */
export interface PreparedReceptor {
  path: string;
  atoms: PdbqtAtom[];
  source: 'PDBQT' | 'PDB';
}

const WATER = new Set(['HOH', 'WAT', 'DOD', 'H2O', 'TIP', 'TIP3', 'SOL']);

/**
 * Writes the receptor as PDBQT into `dir`: PDBQT as given (after checking it is one), PDB
 * converted by Open Babel as a rigid receptor without waters and HETATM records (ligands,
 * ions, cofactors: Vina's receptor must be protein only, and a co-crystallised ligand
 * would fill the pocket).
 */
export async function prepareReceptor(context: ToolContext, structure: Structure | null, dir: string): Promise<PreparedReceptor> {
  if (!structure) throw inputFailure('RECEPTOR_MISSING', 'VINA docks into a receptor structure, and the protein has none');
  const path = join(dir, 'receptor.pdbqt');
  switch (structure.format) {
    case 'PDBQT': {
      const atoms = checkReceptorPdbqt(structure.content);
      await writeFile(path, structure.content);
      return { path, atoms, source: 'PDBQT' };
    }
    case 'PDB': {
      const cleaned = proteinOnly(structure.content);
      if (!cleaned.hasAtoms) {
        throw inputFailure(
          'RECEPTOR_INVALID',
          'the receptor PDB has no protein ATOM records (only waters, HETATM or nothing readable)',
        );
      }
      const input = join(dir, 'receptor.pdb');
      await writeFile(input, cleaned.text);
      const run = await obabel(context, ['-ipdb', input, '-xr', '-h', '-opdbqt', '-O', path], dir, 'converting the receptor');
      const output = await readFile(path, 'utf8').catch(() => '');
      if (parseAtoms(output).length === 0) {
        const why = obabelComplaint(run);
        throw inputFailure('RECEPTOR_INVALID', `Open Babel could not read the receptor PDB${why ? ` (${why})` : ''}`);
      }
      return { path, atoms: checkReceptorPdbqt(output), source: 'PDB' };
    }
    default:
      throw inputFailure('RECEPTOR_FORMAT_UNSUPPORTED', `VINA reads receptors as PDBQT or PDB, not ${structure.format}`);
  }
}

/**
 * Checks what Vina would not: a "PDBQT" without partial charges and AutoDock types is a
 * plain PDB, which Vina reads without complaint and scores with wrong atom types
 * (1IEP's PDB given as PDBQT scores −11.6 instead of −13.2 kcal/mol).
 */
export function checkReceptorPdbqt(text: string): PdbqtAtom[] {
  const atoms = parseAtoms(text);
  if (atoms.length === 0) {
    throw inputFailure(
      'RECEPTOR_INVALID',
      'the receptor PDBQT has no ATOM or HETATM records; it is not a structure Vina can read',
    );
  }
  if (/^(ROOT|BRANCH|TORSDOF)\b/m.test(text)) {
    throw inputFailure(
      'RECEPTOR_INVALID',
      'the receptor PDBQT has a torsion tree (ROOT/BRANCH/TORSDOF): it is a ligand file, not a rigid receptor',
    );
  }
  const badCoordinates = atoms.find((atom) => ![atom.x, atom.y, atom.z].every(Number.isFinite));
  if (badCoordinates) {
    throw inputFailure('RECEPTOR_INVALID', `the receptor PDBQT has unreadable coordinates on line ${badCoordinates.line}`);
  }
  const untyped = atoms.filter((atom) => atom.charge === null || atom.type === '');
  if (untyped.length > 0) {
    throw inputFailure(
      'RECEPTOR_NOT_PDBQT',
      `the receptor given as PDBQT has ${untyped.length} of ${atoms.length} atoms without a partial charge or AutoDock ` +
        `atom type (first on line ${untyped[0]!.line}); it looks like plain PDB: submit it with format PDB to have it converted`,
    );
  }
  return atoms;
}

/** The PDB without waters and HETATM records, first model only. */
function proteinOnly(pdb: string): { text: string; hasAtoms: boolean } {
  const kept: string[] = [];
  let hasAtoms = false;
  for (const line of pdb.split(/\r?\n/)) {
    if (/^ENDMDL/.test(line)) break; // NMR ensembles: the first model is the receptor
    if (/^(HETATM|ANISOU|CONECT|MODEL)/.test(line)) continue;
    if (/^ATOM {2}/.test(line)) {
      if (WATER.has(line.slice(17, 21).trim())) continue;
      hasAtoms = true;
    }
    kept.push(line);
  }
  return { text: `${kept.join('\n')}\n`, hasAtoms };
}

/** Receptor heavy atoms inside the box, grown by `margin` Å on each side. */
export function heavyAtomsInBox(atoms: PdbqtAtom[], pocket: Pocket, margin = 0): number {
  const [cx, cy, cz] = pocket.center;
  const [sx, sy, sz] = pocket.size;
  return atoms.filter(
    (atom) =>
      !isHydrogen(atom) &&
      Math.abs(atom.x - cx) <= sx / 2 + margin &&
      Math.abs(atom.y - cy) <= sy / 2 + margin &&
      Math.abs(atom.z - cz) <= sz / 2 + margin,
  ).length;
}
