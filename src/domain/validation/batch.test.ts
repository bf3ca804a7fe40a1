import { beforeAll, describe, expect, it } from 'vitest';
import { loadRdkitChemistry } from '../../chemistry/rdkit-chemistry.js';
import type { Chemistry } from '../chemistry.js';
import type { BatchDraft } from '../submission.js';
import { validateBatch } from './batch.js';
import { MAX_BATCH_LIGANDS } from './limits.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

const SEQUENCE = 'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKEL';

const draft = (overrides: Partial<BatchDraft> = {}): BatchDraft => ({
  model: 'BOLTZ2',
  name: 'CDK2 screen',
  protein: { sequence: SEQUENCE },
  parameters: { useMsaServer: false },
  ligands: [
    { smiles: 'OC1=CC=CC=C1', name: 'phenol' },
    { smiles: 'C1CC', name: 'broken' },
    { smiles: 'CCO', name: 'phenol' },
    { smiles: 'CCN.Cl' },
    { smiles: 'CCO' },
  ],
  ...overrides,
});

describe('validateBatch', () => {
  it('keeps the valid ligands with their original indices and lists the others apart', () => {
    const { invalid, ligandProblems, value } = validateBatch(chem, draft());
    expect(invalid).toEqual([]);
    expect(value?.ligands.map(({ index, ligand }) => [index, ligand.canonicalSmiles])).toEqual([
      [0, 'Oc1ccccc1'],
      [2, 'CCO'],
      [4, 'CCO'],
    ]);
    expect(
      ligandProblems.map(({ index, name, smiles, invalid }) => ({ index, name, smiles, paths: invalid.map((p) => p.path) })),
    ).toEqual([
      { index: 1, name: 'broken', smiles: 'C1CC', paths: [['input', 'ligands', 1, 'smiles']] },
      { index: 3, name: null, smiles: 'CCN.Cl', paths: [['input', 'ligands', 3, 'smiles']] },
    ]);
  });

  it('allows repeated names and repeated SMILES', () => {
    const { value } = validateBatch(chem, draft());
    expect(value?.ligands.filter(({ ligand }) => ligand.canonicalSmiles === 'CCO')).toHaveLength(2);
  });

  it('reports batch problems apart from ligand problems and then gives no value', () => {
    const { invalid, ligandProblems, value } = validateBatch(chem, draft({ name: ' ', maxConcurrent: 0, protein: {} }));
    expect(value).toBeUndefined();
    expect(invalid.map((p) => [p.path.join('.'), p.message])).toEqual([
      ['input.name', 'must not be empty'],
      ['input.protein.sequence', 'is required for BOLTZ2: BOLTZ2 predicts the complex from the protein sequence'],
      ['input.maxConcurrent', 'must be between 1 and 1000, got 0'],
    ]);
    expect(ligandProblems).toHaveLength(2);
  });

  it('refuses an empty batch', () => {
    expect(validateBatch(chem, draft({ ligands: [] })).invalid).toEqual([
      { path: ['input', 'ligands'], message: 'must hold between 1 and 100000 ligands, got 0' },
    ]);
  });

  it('refuses more than 100,000 ligands without parsing any', () => {
    const ligands = Array.from({ length: MAX_BATCH_LIGANDS + 1 }, () => ({ smiles: 'not parsed' }));
    const { invalid, ligandProblems } = validateBatch(chem, draft({ ligands }));
    expect(invalid).toEqual([{ path: ['input', 'ligands'], message: 'must hold between 1 and 100000 ligands, got 100001' }]);
    expect(ligandProblems).toEqual([]);
  });

  it('refuses prepared ligand structures in a BOLTZ2 batch, per ligand', () => {
    const { ligandProblems } = validateBatch(
      chem,
      draft({ ligands: [{ smiles: 'CCO', structure: { format: 'SDF', content: 'x' } }] }),
    );
    expect(ligandProblems[0]!.invalid.map((p) => p.path)).toEqual([['input', 'ligands', 0, 'structure']]);
  });
});
