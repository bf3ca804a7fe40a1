import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ligand } from '../../../../src/domain/job.js';
import { inputFailure } from '../failure.js';
import { isHydrogen, readTorsionTree, type TorsionTree } from './pdbqt.js';
import { moleculesConverted, obabel, obabelComplaint, type ToolContext } from './tools.js';

/** A ligand ready for Vina. */
export interface PreparedLigand {
  path: string;
  /** Where its 3D coordinates came from. */
  source: 'smiles' | 'structure';
  tree: TorsionTree;
}

/**
 * Writes the ligand as PDBQT into `dir`: the prepared structure when the user gave one
 * (PDBQT as given, SDF converted by Open Babel), otherwise a 3D conformer Open Babel builds
 * from the canonical SMILES, with hydrogens. Open Babel exits 0 when it fails, so the
 * result is checked, never the exit code.
 */
export async function prepareLigand(
  context: ToolContext,
  ligand: Ligand,
  dir: string,
  maxTorsions: number,
): Promise<PreparedLigand> {
  const path = join(dir, 'ligand.pdbqt');
  const structure = ligand.structure;
  if (structure?.format === 'PDBQT') {
    await writeFile(path, structure.content);
    return { path, source: 'structure', tree: checkLigandPdbqt(structure.content, 'structure', maxTorsions, '') };
  }
  if (structure?.format === 'SDF') {
    const input = join(dir, 'ligand.sdf');
    await writeFile(input, structure.content);
    // A 2D SDF (all z = 0) has no usable conformation: build one, as for SMILES.
    const gen3d = isFlatSdf(structure.content) ? ['--gen3d'] : [];
    const run = await obabel(
      context,
      ['-isdf', input, '-l', '1', '-h', ...gen3d, '-opdbqt', '-O', path],
      dir,
      'converting the ligand SDF',
    );
    const output = await readFile(path, 'utf8').catch(() => '');
    const why = moleculesConverted(run) === 0 || output.trim() === '' ? obabelComplaint(run) : '';
    return { path, source: 'structure', tree: checkLigandPdbqt(output, 'sdf', maxTorsions, why) };
  }
  if (structure) {
    throw inputFailure('LIGAND_FORMAT_UNSUPPORTED', `VINA reads prepared ligands as PDBQT or SDF, not ${structure.format}`);
  }
  const smiles = ligand.canonicalSmiles || ligand.smiles;
  // `-:` takes the SMILES as one argument; no shell sees it.
  const run = await obabel(context, [`-:${smiles}`, '--gen3d', '-h', '-opdbqt', '-O', path], dir, 'building the ligand in 3D');
  const output = await readFile(path, 'utf8').catch(() => '');
  const why = moleculesConverted(run) === 0 || output.trim() === '' ? obabelComplaint(run) : '';
  return { path, source: 'smiles', tree: checkLigandPdbqt(output, 'smiles', maxTorsions, why) };
}

const ORIGIN = {
  structure: 'the ligand PDBQT',
  sdf: 'the ligand converted from SDF',
  smiles: 'the 3D ligand Open Babel built from the SMILES',
} as const;

/** Checks a ligand PDBQT is one molecule with a torsion tree Vina can search. */
export function checkLigandPdbqt(
  text: string,
  origin: keyof typeof ORIGIN,
  maxTorsions: number,
  obabelSays: string,
): TorsionTree {
  const tree = readTorsionTree(text);
  const what = ORIGIN[origin];
  const failed = origin === 'structure' ? 'LIGAND_INVALID' : 'LIGAND_PREPARATION_FAILED';
  if (tree.atoms.length === 0) {
    const message =
      origin === 'smiles'
        ? 'Open Babel could not build a 3D structure from the SMILES'
        : origin === 'sdf'
          ? 'Open Babel could not read the ligand SDF'
          : 'the ligand PDBQT has no ATOM records';
    throw inputFailure(failed, obabelSays ? `${message} (${obabelSays})` : message);
  }
  if (tree.roots > 1) {
    throw inputFailure(
      'LIGAND_MULTIPLE_FRAGMENTS',
      `${what} holds ${tree.roots} separate molecules (a salt or a mixture?); Vina docks one: remove counter-ions and solvents`,
    );
  }
  if (tree.roots === 0 || tree.torsdof === null) {
    throw inputFailure(
      failed,
      `${what} has no torsion tree (ROOT … ENDROOT and TORSDOF); prepare it as a ligand, e.g. with Meeko`,
    );
  }
  const unreadable = tree.atoms.find(
    (atom) => ![atom.x, atom.y, atom.z].every(Number.isFinite) || atom.charge === null || !atom.type,
  );
  if (unreadable) {
    throw inputFailure(
      failed,
      `${what} has an unreadable atom record on line ${unreadable.line} (coordinates, charge or AutoDock type)`,
    );
  }
  const heavy = tree.atoms.filter((atom) => !isHydrogen(atom));
  for (let i = 0; i < heavy.length; i += 1) {
    for (let j = i + 1; j < heavy.length; j += 1) {
      const [a, b] = [heavy[i]!, heavy[j]!];
      if ((a.x - b.x) ** 2 + (a.y - b.y) ** 2 + (a.z - b.z) ** 2 < 0.25) {
        throw inputFailure(failed, `${what} has no usable 3D coordinates (atoms on lines ${a.line} and ${b.line} overlap)`);
      }
    }
  }
  if (tree.branches > maxTorsions) {
    throw inputFailure(
      'TOO_MANY_TORSIONS',
      `the ligand has ${tree.branches} rotatable bonds; Vina searches at most ${maxTorsions}: ` +
        'dock a smaller or more rigid molecule (long flexible chains do not dock reliably)',
    );
  }
  return tree;
}

/** A V2000 SDF whose first record has every z coordinate 0: a 2D drawing. */
function isFlatSdf(sdf: string): boolean {
  const lines = sdf.split(/\r?\n/);
  const counts = lines[3] ?? '';
  if (counts.includes('V3000')) return false;
  const atomCount = Number(counts.slice(0, 3));
  if (!Number.isInteger(atomCount) || atomCount < 2) return false;
  const zs = lines.slice(4, 4 + atomCount).map((line) => Number(line.slice(20, 30)));
  return zs.every((z) => z === 0);
}
