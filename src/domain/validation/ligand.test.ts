import { beforeAll, describe, expect, it } from 'vitest';
import { loadRdkitChemistry } from '../../chemistry/rdkit-chemistry.js';
import type { Chemistry } from '../chemistry.js';
import type { ModelName } from '../job.js';
import type { LigandDraft } from '../submission.js';
import { validateLigand } from './ligand.js';
import { Problems } from './problems.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

const PATH = ['input', 'ligands', 17];

function check(draft: LigandDraft, model: ModelName = 'VINA') {
  const problems = new Problems();
  const ligand = validateLigand(problems, PATH, model, (s) => chem.parseSmiles(s), draft);
  return { ligand, invalid: problems.list };
}

/** n-alkane with `carbons` atoms: `carbons - 3` rotatable bonds (terminal bonds do not count). */
const alkane = (carbons: number) => 'C'.repeat(carbons);

describe('validateLigand', () => {
  it('fills the record with the canonical SMILES and RDKit counts', () => {
    expect(check({ smiles: ' OC1=CC=CC=C1 ', name: ' phenol ' }).ligand).toEqual({
      name: 'phenol',
      smiles: 'OC1=CC=CC=C1',
      canonicalSmiles: 'Oc1ccccc1',
      heavyAtoms: 7,
      rotatableBonds: 0,
      structure: null,
    });
  });

  it('refuses an empty SMILES although RDKit reads it as an empty molecule', () => {
    expect(check({ smiles: '  ' }).invalid).toEqual([{ path: [...PATH, 'smiles'], message: 'must not be empty' }]);
  });

  it('refuses a SMILES longer than 1000 characters without parsing it', () => {
    const { invalid } = check({ smiles: 'C'.repeat(1001) });
    expect(invalid).toEqual([{ path: [...PATH, 'smiles'], message: 'must be at most 1000 characters, got 1001' }]);
  });

  it('refuses a SMILES RDKit cannot parse and quotes it', () => {
    const { invalid } = check({ smiles: 'C1CC(' });
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.path).toEqual([...PATH, 'smiles']);
    expect(invalid[0]!.message).toMatch(/^"C1CC\(" is not a valid SMILES/);
  });

  it('refuses a SMILES followed by a name, which RDKit would silently accept', () => {
    expect(check({ smiles: 'CCO ethanol' }).invalid[0]!.message).toMatch(/must not contain spaces/);
  });

  it('refuses salts, naming the fragments found and suggesting to strip them', () => {
    const { invalid } = check({ smiles: 'CC(=O)Oc1ccccc1C(=O)[O-].[Na+]' });
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.message).toBe(
      'must be exactly one molecule, found 2 disconnected fragments (CC(=O)Oc1ccccc1C(=O)[O-], [Na+]); ' +
        'strip salts, counter-ions and solvents and keep the parent compound',
    );
  });

  it('refuses a molecule without heavy atoms', () => {
    expect(check({ smiles: '[H][H]' }).invalid[0]!.message).toBe('must have between 1 and 128 heavy atoms, got 0');
  });

  it('accepts 128 heavy atoms and refuses 129', () => {
    // Long chains also exceed Vina's rotor limit, so check the atom limit under BOLTZ2.
    expect(check({ smiles: alkane(128) }, 'BOLTZ2').invalid).toEqual([]);
    expect(check({ smiles: alkane(129) }, 'BOLTZ2').invalid).toEqual([
      { path: [...PATH, 'smiles'], message: 'must have between 1 and 128 heavy atoms, got 129' },
    ]);
  });

  it('accepts 32 rotatable bonds for VINA and refuses 33', () => {
    expect(check({ smiles: alkane(35) }).ligand?.rotatableBonds).toBe(32);
    expect(check({ smiles: alkane(36) }).invalid).toEqual([
      {
        path: [...PATH, 'smiles'],
        message: 'must have at most 32 rotatable bonds for VINA (its torsion tree limit), got 33',
      },
    ]);
  });

  it('does not apply the torsion limit to BOLTZ2, which has no torsion tree', () => {
    expect(check({ smiles: alkane(60) }, 'BOLTZ2').ligand?.rotatableBonds).toBe(57);
  });

  it('accepts a prepared SDF ligand for VINA', () => {
    const sdf =
      'STI\n     RDKit          3D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n$$$$\n';
    expect(check({ smiles: 'C', structure: { format: 'SDF', content: sdf } }).ligand?.structure?.format).toBe('SDF');
  });

  it('refuses a prepared ligand in a format Vina cannot read as a ligand', () => {
    const { invalid } = check({ smiles: 'C', structure: { format: 'CIF', content: 'data_x\n_atom_site.id 1\n' } });
    expect(invalid).toEqual([
      { path: [...PATH, 'structure', 'format'], message: 'must be PDBQT or SDF (prepared ligands for VINA), got CIF' },
    ]);
  });

  it('refuses any prepared ligand for BOLTZ2 and says why', () => {
    const { invalid } = check({ smiles: 'C', structure: { format: 'SDF', content: 'x' } }, 'BOLTZ2');
    expect(invalid).toEqual([
      {
        path: [...PATH, 'structure'],
        message: 'is not accepted by BOLTZ2: it builds the ligand from the SMILES; remove the structure',
      },
    ]);
  });

  it('refuses a name longer than 200 characters alongside a bad SMILES', () => {
    const { invalid } = check({ smiles: 'X', name: 'n'.repeat(201) });
    expect(invalid.map((p) => p.path.at(-1))).toEqual(['name', 'smiles']);
    expect(invalid[0]!.message).toBe('must be at most 200 characters, got 201');
  });
});
