import { describe, expect, it } from 'vitest';
import { heavyAtomRmsd, parseAtoms, parseVinaPoses, readTorsionTree } from './pdbqt.js';
import { fixture } from './test-support.js';

describe('PDBQT reading', () => {
  it("reads the scores of Vina's reference output in rank order", () => {
    const poses = parseVinaPoses(fixture('1iep_ligand_vina_out.pdbqt'));
    expect(poses.length).toBeGreaterThan(1);
    expect(poses[0]).toMatchObject({ rank: 1, score: -13.234, rmsdLowerBound: 0, rmsdUpperBound: 0 });
    expect(poses.map((pose) => pose.score)).toEqual([...poses.map((pose) => pose.score)].sort((a, b) => a - b));
  });

  it('finds the reference top pose within a fraction of an Å of the crystal pose', () => {
    const [top] = parseVinaPoses(fixture('1iep_ligand_vina_out.pdbqt'));
    const rmsd = heavyAtomRmsd(parseAtoms(fixture('1iep_ligand.pdbqt')), parseAtoms(top!.pdbqt));
    expect(rmsd).toBeLessThan(1);
  });

  it("reads the ligand's torsion tree: one root, seven active torsions", () => {
    const tree = readTorsionTree(fixture('1iep_ligand.pdbqt'));
    expect(tree).toMatchObject({ roots: 1, branches: 7, torsdof: 7 });
    expect(tree.atoms).toHaveLength(40);
  });

  it('sees no partial charges in a plain PDB', () => {
    const atoms = parseAtoms(fixture('1iep_receptorH.pdb'));
    expect(atoms.length).toBeGreaterThan(1000);
    expect(atoms.every((atom) => atom.charge === null)).toBe(true);
    expect(parseAtoms(fixture('1iep_receptor.pdbqt')).every((atom) => atom.charge !== null && atom.type !== '')).toBe(true);
  });
});
