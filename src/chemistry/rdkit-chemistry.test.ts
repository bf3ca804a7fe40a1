import { beforeAll, describe, expect, it } from 'vitest';
import type { Chemistry } from '../domain/chemistry.js';
import { loadRdkitChemistry } from './rdkit-chemistry.js';
import { loadRdkitModule } from './rdkit-module.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

describe('loadRdkitChemistry', () => {
  it('writes RDKit canonical SMILES, whatever the input spelling', () => {
    expect(chem.parseSmiles('OC1=CC=CC=C1')?.canonicalSmiles).toBe('Oc1ccccc1');
    expect(chem.parseSmiles('c1ccccc1O')?.canonicalSmiles).toBe('Oc1ccccc1');
    expect(chem.parseSmiles('C(C)O')?.canonicalSmiles).toBe('CCO');
  });

  it('keeps stereochemistry in the canonical SMILES', () => {
    expect(chem.parseSmiles('N[C@@H](C)C(=O)O')?.canonicalSmiles).toBe('C[C@H](N)C(=O)O');
  });

  it('counts heavy atoms, treating deuterium as hydrogen', () => {
    expect(chem.parseSmiles('CC(=O)Oc1ccccc1C(=O)O')?.heavyAtoms).toBe(13); // aspirin
    expect(chem.parseSmiles('[2H]C([2H])([2H])O')?.heavyAtoms).toBe(2);
  });

  it('counts disconnected fragments such as salts', () => {
    expect(chem.parseSmiles('CC(=O)[O-].[Na+]')?.fragments).toBe(2);
    expect(chem.parseSmiles('CCO.O.O')?.fragments).toBe(3);
    // A ring-closure bond across "." joins the parts into one molecule.
    expect(chem.parseSmiles('C1.C1')).toMatchObject({ canonicalSmiles: 'CC', fragments: 1 });
  });

  it('returns null for SMILES RDKit cannot parse or sanitize', () => {
    expect(chem.parseSmiles('C1CC')).toBeNull(); // unclosed ring
    expect(chem.parseSmiles('c1cccc1')).toBeNull(); // cannot be kekulized
    expect(chem.parseSmiles('C(C)(C)(C)(C)C')).toBeNull(); // pentavalent carbon
    expect(chem.parseSmiles('not a smiles')).toBeNull();
  });

  it('refuses input RDKit would read as something other than SMILES', () => {
    expect(chem.parseSmiles('CCO ethanol')).toBeNull();
    expect(
      chem.parseSmiles(
        '\n     RDKit          2D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0\nM  END\n',
      ),
    ).toBeNull();
  });

  it('reads the empty string as an empty molecule, for validation to refuse', () => {
    expect(chem.parseSmiles('')).toEqual({ canonicalSmiles: '', heavyAtoms: 0, rotatableBonds: 0, fragments: 0 });
  });

  it('counts rotatable bonds as RDKit NumRotatableBonds does (strict: amides, CF3 and t-butyl excluded)', () => {
    expect(chem.parseSmiles('CCCC')?.rotatableBonds).toBe(1);
    expect(chem.parseSmiles('CC(=O)NC')?.rotatableBonds).toBe(0);
    expect(chem.parseSmiles('c1ccccc1C(F)(F)F')?.rotatableBonds).toBe(0);
    expect(chem.parseSmiles('C'.repeat(40))?.rotatableBonds).toBe(37);
  });

  it('agrees with get_descriptors() on NumRotatableBonds and NumHeavyAtoms across varied molecules', async () => {
    const rdkit = await loadRdkitModule();
    const molecules = [
      'CC(=O)Nc1ccc(O)cc1',
      'CN1CCN(CC1)c1ccc(cc1)C(=O)Nc1ccc(C)c(Nc2nccc(n2)-c2cccnc2)c1',
      'CC(C)(C)c1ccc(cc1)C(O)CCCN1CCC(CC1)C(O)(c1ccccc1)c1ccccc1',
      'OC(=O)CCC#CCN',
      'C[N+](C)(C)CCOC(N)=O',
      'CC(=N)NCc1ccccc1',
      'NC(=[NH2+])c1ccccc1',
      'CC(C)(C)OC(=O)N[C@@H](Cc1ccccc1)C(=O)O',
      'CSC(=S)NCC(F)(F)F',
      'FC(F)(F)c1cc(cc(c1)C(F)(F)F)C(Cl)(Cl)Cl',
      'O=C1NC(=O)C(N1)(c1ccccc1)c1ccccc1',
      'CCCCCCCCCCCCCCCC(=O)OCC',
      'c1ccc2c(c1)-c1ccccc1C2',
      'CC1=C(C(=O)OC(C)C)C(c2cccc(c2)[N+](=O)[O-])C(C(=O)OC)=C1C',
      '[2H]C([2H])([2H])Oc1ccccc1',
    ];
    for (const smiles of molecules) {
      const mol = rdkit.get_mol(smiles)!;
      const descriptors = JSON.parse(mol.get_descriptors()) as { NumRotatableBonds: number; NumHeavyAtoms: number };
      mol.delete();
      const parsed = chem.parseSmiles(smiles);
      expect({ smiles, rotatable: parsed?.rotatableBonds, heavy: parsed?.heavyAtoms }).toEqual({
        smiles,
        rotatable: descriptors.NumRotatableBonds,
        heavy: descriptors.NumHeavyAtoms,
      });
    }
  });

  it('loads the WebAssembly module once and shares it', async () => {
    expect(await loadRdkitModule()).toBe(await loadRdkitModule());
  });
});
