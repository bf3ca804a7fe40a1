import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRdkitChemistry } from '../../chemistry/rdkit-chemistry.js';
import type { Chemistry } from '../chemistry.js';
import type { PredictionDraft } from '../submission.js';
import { validatePrediction } from './prediction.js';

let chem: Chemistry;
beforeAll(async () => {
  chem = await loadRdkitChemistry();
});

const receptor = readFileSync('/work/shared/fixtures/vina/1iep/1iep_receptor.pdbqt', 'utf8');
const boltzCif = readFileSync(
  '/work/shared/fixtures/boltz2/cdk2_1ckp/boltz_results_1ckp_cdk2/predictions/1ckp_cdk2/1ckp_cdk2_model_0.cif',
  'utf8',
);
const CDK2 =
  'MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKELNHPNIVKLLDVIHTENKLYLVFEFLHQDLKKFMDASALTGIPLPLIKSYLFQLLQGLAFCHSHRVLHRDLKPQNLLINTEGAIKLADFGLARAFGVPVRTYTHEVVTLWYRAPEILLGCKYYSTAVDIWSLGCIFAEMVTRRALFPGDSEIDQLFRIFRTLGTPDEVVWPGVTSMPDYKPSFPKWARQDFSKVVPPLDEDGRSLLSQMLHYDPNKRISAKAALAHPFFQDVTKPVPHLRL';
const IMATINIB = 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1';

const vinaDraft = (): PredictionDraft => ({
  model: 'VINA',
  name: '1IEP redock',
  protein: {
    name: 'ABL kinase',
    structure: { format: 'PDBQT', content: receptor },
    pocket: { center: [15.19, 53.903, 16.917], size: [20, 20, 20] },
  },
  ligand: { smiles: IMATINIB, name: 'imatinib' },
  parameters: { exhaustiveness: 8, numPoses: 9, seed: 42 },
});

const boltzDraft = (): PredictionDraft => ({
  model: 'BOLTZ2',
  protein: { sequence: CDK2 },
  ligand: { smiles: 'OC1=CC=CC=C1' },
  parameters: { useMsaServer: false },
});

describe('validatePrediction', () => {
  it('turns a valid VINA draft into the records to store', () => {
    const { invalid, value } = validatePrediction(chem, vinaDraft());
    expect(invalid).toEqual([]);
    expect(value?.name).toBe('1IEP redock');
    expect(value?.ligand).toMatchObject({ canonicalSmiles: IMATINIB, heavyAtoms: 37, rotatableBonds: 7 });
    expect(value?.protein.pocket).toEqual({ center: [15.19, 53.903, 16.917], size: [20, 20, 20] });
    expect(value?.parameters).toEqual({
      seed: 42,
      diffusionSamples: null,
      samplingSteps: null,
      recyclingSteps: null,
      useMsaServer: null,
      exhaustiveness: 8,
      numPoses: 9,
    });
  });

  it('turns a valid BOLTZ2 draft into the records to store, canonicalizing the SMILES', () => {
    const { invalid, value } = validatePrediction(chem, boltzDraft());
    expect(invalid).toEqual([]);
    expect(value?.ligand.canonicalSmiles).toBe('Oc1ccccc1');
    expect(value?.protein.sequence).toBe(CDK2);
  });

  it('requires a sequence for BOLTZ2', () => {
    expect(validatePrediction(chem, { ...boltzDraft(), protein: { sequence: '  ' } }).invalid).toEqual([
      {
        path: ['input', 'protein', 'sequence'],
        message: 'is required for BOLTZ2: BOLTZ2 predicts the complex from the protein sequence',
      },
    ]);
  });

  it('requires a receptor structure and a pocket for VINA', () => {
    const { invalid } = validatePrediction(chem, { ...vinaDraft(), protein: { sequence: CDK2 } });
    expect(invalid.map((p) => p.path)).toEqual([
      ['input', 'protein', 'structure'],
      ['input', 'protein', 'pocket'],
    ]);
  });

  it('refuses a CIF receptor for VINA, which cannot read one', () => {
    const draft = vinaDraft();
    draft.protein.structure = { format: 'CIF', content: boltzCif };
    expect(validatePrediction(chem, draft).invalid).toEqual([
      {
        path: ['input', 'protein', 'structure', 'format'],
        message: 'must be PDB or PDBQT (Vina reads receptors as PDBQT; PDB is converted by Open Babel), got CIF',
      },
    ]);
  });

  it('accepts fields the model ignores: a pocket and Vina parameters on a BOLTZ2 job', () => {
    const draft = boltzDraft();
    draft.protein.pocket = { center: [0, 0, 0], size: [20, 20, 20] };
    draft.parameters = { exhaustiveness: 16, useMsaServer: false };
    expect(validatePrediction(chem, draft).invalid).toEqual([]);
  });

  it('lists every problem at once, each at its own path', () => {
    const draft = vinaDraft();
    draft.ligand = { smiles: 'CC(=O)[O-].[Na+]' };
    draft.protein.pocket = { center: [15, 53, 16], size: [20, 0, 20] };
    draft.parameters = { exhaustiveness: 0 };
    const { invalid, value } = validatePrediction(chem, draft);
    expect(value).toBeUndefined();
    expect(invalid.map((p) => p.path)).toEqual([
      ['input', 'protein', 'pocket', 'size', 1],
      ['input', 'ligand', 'smiles'],
      ['input', 'parameters', 'exhaustiveness'],
    ]);
    expect(invalid.map((p) => p.message)).toEqual([
      'must be greater than 0 and at most 30 Å, got 0',
      expect.stringMatching(/^must be exactly one molecule, found 2 disconnected fragments/),
      'must be between 1 and 64, got 0',
    ]);
  });
});
